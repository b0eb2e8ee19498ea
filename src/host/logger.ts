// The host's logger: pino's JSON lines, secrets redacted (shared/log-format.ts). On a terminal the same
// records are printed for people (pino-pretty): a time, the level, the message and its fields.
import pino from 'pino';
import pretty from 'pino-pretty';
import { logOptions } from '../shared/log-format.ts';

export type Logger = pino.Logger;
export type LogFormat = 'json' | 'pretty';

export function createLogger(
  level: string,
  destination?: pino.DestinationStream,
  format: LogFormat = 'json',
): Logger {
  if (format === 'json') return pino(logOptions(level), destination);
  const stream = pretty({
    colorize: destination === undefined ? process.stdout.isTTY : false,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname',
    sync: true,
    ...(destination ? { destination } : {}),
  });
  return pino(logOptions(level), stream);
}

/**
 * JSON unless a person is reading: pretty when the output is a terminal. WARREN_LOG_FORMAT (`json` or
 * `pretty`) decides instead when set; anything else is refused.
 */
export function logFormatFor(output: { isTTY?: boolean }, env: NodeJS.ProcessEnv): LogFormat {
  const chosen = env.WARREN_LOG_FORMAT;
  if (chosen === 'json' || chosen === 'pretty') return chosen;
  if (chosen !== undefined && chosen !== '')
    throw new Error(`WARREN_LOG_FORMAT must be json or pretty, got "${chosen}"`);
  return output.isTTY ? 'pretty' : 'json';
}
