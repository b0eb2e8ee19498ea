// What the host process does with an error nobody caught (docs/security.md). Every fire-and-forget
// path in src/host catches and logs its own errors with its context; these are the last line.
//
// - An unhandled promise rejection is logged (error level, with the reason's stack) and the host
//   keeps serving: one failed background promise must not take every chat down. Node's default
//   (since 15) would end the process.
// - An uncaught exception ends the host: a synchronous throw out of an event handler or timer may
//   leave a half-done change behind in memory. The host logs it (fatal), shuts down in order
//   (containers stopped, database closed) within FATAL_SHUTDOWN_MS, and exits with status 1 for
//   its supervisor to restart it; start-up recovery then retries whatever was in flight.

/** After an uncaught exception, how long the orderly shutdown may take before the exit is forced. */
export const FATAL_SHUTDOWN_MS = 10_000;

export interface ProcessGuardDeps {
  log: {
    error(obj: object, msg: string): void;
    fatal(obj: object, msg: string): void;
  };
  /** The orderly shutdown an uncaught exception triggers. */
  shutdown: () => Promise<unknown>;
  /** Ends the process; process.exit by default (tests pass their own). */
  exit?: (code: number) => void;
  /** The emitter to guard; process by default (tests pass their own). */
  target?: NodeJS.EventEmitter;
}

/** Installs both handlers; returns a function that removes them. */
export function guardProcess(deps: ProcessGuardDeps): () => void {
  const target = deps.target ?? process;
  const exit = deps.exit ?? ((code: number) => process.exit(code));
  let unhandled = 0;
  let fatal = false;

  const onRejection = (reason: unknown): void => {
    unhandled++;
    deps.log.error(
      { err: reason, unhandledRejections: unhandled },
      'unhandled promise rejection (a bug: the failed work is lost); the host keeps serving',
    );
  };
  const onException = (err: unknown, origin: unknown): void => {
    deps.log.fatal(
      { err, origin },
      'uncaught exception; the host shuts down and exits with status 1 (its supervisor restarts it)',
    );
    if (fatal) return; // a second one during the shutdown: the first is already ending the process
    fatal = true;
    const forced = setTimeout(() => exit(1), FATAL_SHUTDOWN_MS);
    forced.unref();
    deps
      .shutdown()
      .catch((shutdownErr: unknown) =>
        deps.log.error({ err: shutdownErr }, 'shutdown after a fatal error failed'),
      )
      .finally(() => {
        clearTimeout(forced);
        exit(1);
      });
  };
  target.on('unhandledRejection', onRejection);
  target.on('uncaughtException', onException);
  return () => {
    target.off('unhandledRejection', onRejection);
    target.off('uncaughtException', onException);
  };
}
