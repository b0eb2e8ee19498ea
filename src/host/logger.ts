import pino from 'pino';
import { logOptions } from '../shared/log-format.ts';

export type Logger = pino.Logger;

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(logOptions(level), destination);
}
