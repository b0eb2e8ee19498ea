// The host's log output: JSON lines for machines, a readable line per record on a terminal, secrets
// redacted either way, and WARREN_LOG_FORMAT to choose.
import { PassThrough } from 'node:stream';
import { expect, test } from 'vitest';
import { createLogger, logFormatFor } from '../../src/host/logger.ts';

function capture(format: 'json' | 'pretty'): { log: ReturnType<typeof createLogger>; text: () => string } {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  return { log: createLogger('info', out, format), text: () => Buffer.concat(chunks).toString('utf8') };
}

test('json: one JSON object per line, with the secret redacted', () => {
  const { log, text } = capture('json');
  log.info({ channel: 'telegram', token: 'sk-live-123' }, 'channel healthy');
  const line = JSON.parse(text().trim()) as Record<string, unknown>;
  expect(line).toMatchObject({ level: 30, msg: 'channel healthy', channel: 'telegram', token: '[redacted]' });
});

test('pretty: a line a person reads, with time, level, message and fields; the secret still redacted', () => {
  const { log, text } = capture('pretty');
  log.warn({ channel: 'slack', password: 'hunter2' }, 'restarting the channel');
  const printed = text();
  expect(printed).not.toMatch(/^\{/);
  expect(printed).toMatch(/^\[\d{2}:\d{2}:\d{2}\.\d{3}\] WARN: restarting the channel/);
  expect(printed).toContain('channel: "slack"');
  expect(printed).toContain('[redacted]');
  expect(printed).not.toContain('hunter2');
});

test('pretty on a terminal, JSON otherwise; WARREN_LOG_FORMAT decides when set', () => {
  expect(logFormatFor({ isTTY: true }, {})).toBe('pretty');
  expect(logFormatFor({ isTTY: false }, {})).toBe('json');
  expect(logFormatFor({}, {})).toBe('json');
  expect(logFormatFor({ isTTY: true }, { WARREN_LOG_FORMAT: 'json' })).toBe('json');
  expect(logFormatFor({ isTTY: false }, { WARREN_LOG_FORMAT: 'pretty' })).toBe('pretty');
  expect(() => logFormatFor({ isTTY: true }, { WARREN_LOG_FORMAT: 'xml' })).toThrow(/WARREN_LOG_FORMAT/);
});
