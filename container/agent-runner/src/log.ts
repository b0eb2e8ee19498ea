// Structured log lines on stderr; the host collects them with the container's logs.
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
  const line =
    (level: string) =>
    (msg: string, fields: LogFields = {}) =>
      opts.write(
        `${JSON.stringify({ level, time: opts.clock().toISOString(), session: opts.sessionId, msg, ...fields })}\n`,
      );
  return { info: line('info'), warn: line('warn'), error: line('error') };
}
