import pino from 'pino';

export type Logger = pino.Logger;

/** Field names whose values never reach a log line, wherever they appear. */
const SECRET_PATHS = ['token', 'apiKey', 'api_key', 'authorization', 'password', 'secret'].flatMap((k) => [
  k,
  `*.${k}`,
  `*.*.${k}`,
]);

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino({ level, redact: { paths: SECRET_PATHS, censor: '[redacted]' }, base: undefined }, destination);
}
