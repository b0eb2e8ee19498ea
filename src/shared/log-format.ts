// One log format for host and runner: pino's JSON lines (numeric level, epoch-ms time, msg), no
// pid/hostname, and secrets redacted by field name wherever they appear.
import type { LoggerOptions } from 'pino';

/** Field names whose values never reach a log line, wherever they appear. */
const SECRET_PATHS = ['token', 'apiKey', 'api_key', 'authorization', 'password', 'secret'].flatMap((k) => [
  k,
  `*.${k}`,
  `*.*.${k}`,
]);

export function logOptions(level: string): LoggerOptions {
  return { level, redact: { paths: SECRET_PATHS, censor: '[redacted]' }, base: undefined };
}
