// The front door of providers/: the configured provider, with what it needs started (the loopback
// forwarder for the real models; for openai, the approved MCP servers, started on first use) and a
// way to stop it.
import { join } from 'node:path';
import type { RunnerConfig } from '../config.ts';
import type { Log } from '../log.ts';
import { startForwarder } from './forwarder.ts';
import { createMcpServers } from './mcp-servers.ts';
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
      inDir: config.inDir,
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
  if (config.provider === 'claude') {
    // The claude binary starts the approved MCP servers itself, for each turn.
    const provider = (await import('./claude.ts')).createClaudeProvider({
      ...options,
      groupDir: config.groupDir,
      mcpServers: config.mcpServers,
    });
    return { provider, close: () => forwarder.close() };
  }
  const mcpServers = createMcpServers({ servers: config.mcpServers, log: deps.log });
  const provider = (await import('./openai.ts')).createOpenAiProvider({ ...options, mcpServers });
  return {
    provider,
    close: async () => {
      await Promise.all([mcpServers.close(), forwarder.close()]);
    },
  };
}
