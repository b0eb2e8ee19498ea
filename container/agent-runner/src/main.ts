// The agent runner's entry point: start-up and shut-down only.
// Exit codes: 0 idle or told to stop, 1 the session or the provider cannot be used, 2 bad environment.
import { existsSync } from 'node:fs';
import { ConfigError, readConfig, type RunnerConfig } from './config.ts';
import { closeRunnerSession, openRunnerSession, type RunnerSession } from './db/session.ts';
import { touchHeartbeat } from './heartbeat.ts';
import { createLog, type Log } from './log.ts';
import { runLoop } from './loop.ts';
import { startProvider, type RunningProvider } from './providers/index.ts';
import { checkForWork, type TurnDeps } from './turn.ts';
import { createWake } from './wake.ts';
import { errorText } from '../../../src/shared/error-text.ts';

const clock = () => new Date();

async function main(): Promise<number> {
  let config: RunnerConfig;
  try {
    config = readConfig(process.env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`warren runner: ${err.message}; not starting\n`);
    return 2;
  }
  const log = createLog({ sessionId: config.sessionId, clock, write: (line) => process.stderr.write(line) });

  let session: RunnerSession;
  try {
    session = openRunnerSession(config);
  } catch (err) {
    log.error('session files cannot be opened; exiting', { error: errorText(err) });
    return 1;
  }

  const stop = new AbortController();
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      log.info('stopping', { signal });
      stop.abort();
    });
  }
  const wake = createWake({
    dir: config.inDir,
    watch: config.watch,
    onError: (err) => log.warn('watching in/ failed; relying on the poll', { error: err.message }),
  });
  let running: RunningProvider;
  try {
    running = await startProvider(config, { log, exit: (code) => process.exit(code) });
  } catch (err) {
    log.error('the provider cannot start; exiting', { provider: config.provider, error: errorText(err) });
    wake.close();
    closeRunnerSession(session);
    return 1;
  }
  // The memory folder is mounted for agent groups that have one; without it there is no update_memory.
  const memoryDir = existsSync(config.memoryDir) ? config.memoryDir : undefined;

  log.info('runner ready', {
    provider: config.provider,
    model: config.model?.model,
    watch: config.watch,
    pollMs: config.pollMs,
    eventPollMs: config.eventPollMs,
  });
  const turnDeps: TurnDeps = {
    session,
    provider: running.provider,
    clock,
    log,
    heartbeat: () => beat(config, log),
    heartbeatMs: config.heartbeatMs,
    timezone: config.timezone,
    inDir: config.inDir,
    workspace: config.groupDir,
    ...(config.workDir !== null ? { workDir: config.workDir } : {}),
    outboxDir: config.outboxDir,
    memoryDir,
    signal: stop.signal,
  };
  const end = await runLoop({
    checkOnce: (woken) => checkForWork(turnDeps, woken),
    wake,
    clock,
    pollMs: config.pollMs,
    eventPollMs: config.eventPollMs,
    idleExitMs: config.idleExitMs,
    signal: stop.signal,
    log,
  });
  wake.close();
  await running.close();
  closeRunnerSession(session);
  log.info(end === 'idle' ? `idle for ${config.idleExitMs} ms; exiting` : 'stopped; exiting');
  return 0;
}

/** A heartbeat that cannot be written is logged, never fatal: the host then judges by claim age. */
function beat(config: RunnerConfig, log: Log): void {
  try {
    touchHeartbeat(config.heartbeatPath, clock());
  } catch (err) {
    log.warn('heartbeat cannot be written', { error: errorText(err) });
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(
      `warren runner: unexpected failure: ${err instanceof Error ? err.stack : String(err)}\n`,
    );
    process.exit(1);
  },
);
