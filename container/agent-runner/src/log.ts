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

export function createLog(opts: {
  sessionId: string;
  clock: () => Date;
  write: (line: string) => void;
}): Log {
  const logger = pino(
    { ...logOptions('info'), timestamp: () => `,"time":${opts.clock().getTime()}` },
    { write: opts.write },
  ).child({ session: opts.sessionId });
  return {
    info: (msg, fields = {}) => logger.info(fields, msg),
    warn: (msg, fields = {}) => logger.warn(fields, msg),
    error: (msg, fields = {}) => logger.error(fields, msg),
  };
}
