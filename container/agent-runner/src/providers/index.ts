// The front door of providers/: the configured provider, with what it needs started (the loopback
// forwarder for the real models) and a way to stop it.
import { join } from 'node:path';
import type { RunnerConfig } from '../config.ts';
import type { Log } from '../log.ts';
import { startForwarder } from './forwarder.ts';
import type { Provider } from './provider.ts';
import { createScriptedProvider } from './scripted.ts';

export type { Provider, ProviderEvent, Turn } from './provider.ts';

/** A Retry-After longer than this is not waited for: the turn fails with a clear message instead. */
export const MAX_RETRY_WAIT_MS = 20_000;

export interface ProviderDeps {
  log: Log;
  /** What the scripted provider's `exit` step calls. */
  exit: (code: number) => void;
}

export interface RunningProvider {
  provider: Provider;
  close(): Promise<void>;
}

export async function startProvider(config: RunnerConfig, deps: ProviderDeps): Promise<RunningProvider> {
  if (config.provider === 'scripted' || config.model === null) {
    const provider = createScriptedProvider({
      scriptPath: join(config.groupDir, 'script.json'),
      exit: deps.exit,
    });
    return { provider, close: async () => {} };
  }
  const forwarder = await startForwarder({
    socketPath: config.model.gatewaySocket,
    maxRetryWaitMs: MAX_RETRY_WAIT_MS,
    log: deps.log,
  });
  const options = { config: config.model, forwarder, log: deps.log };
  // Imported here, not above: a scripted runner never reads the model providers' code.
  const provider =
    config.provider === 'claude'
      ? (await import('./claude.ts')).createClaudeProvider({ ...options, groupDir: config.groupDir })
      : (await import('./openai.ts')).createOpenAiProvider(options);
  return { provider, close: () => forwarder.close() };
}
