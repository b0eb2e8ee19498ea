// The runner's log: pino JSON lines on stderr in the host's format (src/shared/log-format.ts), each
// bound to the session; the host collects them with the container's output.
import pino from 'pino';
import { logOptions } from '../../../src/shared/log-format.ts';

export type LogFields = Record<string, unknown>;

export interface Log {
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
}

/** The runner's own log: it can also name the turn that every line belongs to. */
export interface RunnerLog extends Log {
  /**
   * Fields every following line carries (the turn's `corr`, src/shared/correlation.ts) until bound
   * again; undefined: none. One turn runs at a time, so the provider's, the forwarder's and the
   * tools' lines during a turn are that turn's without each of them being told.
   */
  bind(fields: LogFields | undefined): void;
}

export function createLog(opts: {
  sessionId: string;
  clock: () => Date;
  write: (line: string) => void;
}): RunnerLog {
  let bound: LogFields = {};
  const logger = pino(
    {
      ...logOptions('info'),
      timestamp: () => `,"time":${opts.clock().getTime()}`,
      // A copy: pino merges each line's own fields into what the mixin returns.
      mixin: () => ({ ...bound }),
    },
    { write: opts.write },
  ).child({ session: opts.sessionId });
  return {
    info: (msg, fields = {}) => logger.info(fields, msg),
    warn: (msg, fields = {}) => logger.warn(fields, msg),
    error: (msg, fields = {}) => logger.error(fields, msg),
    bind: (fields) => {
      bound = fields ?? {};
    },
  };
}
