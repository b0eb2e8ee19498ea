// The runner's log lines have the host's shape, so one reader serves both.
import { expect, test } from 'vitest';
import { createLog } from '../../container/agent-runner/src/log.ts';

test('a runner log line is a pino line bound to its session, with secrets redacted', () => {
  const lines: string[] = [];
  const log = createLog({ sessionId: 'sess-1', clock: () => new Date(5000), write: (l) => lines.push(l) });
  log.warn('model call failed', { status: 429, headers: { authorization: 'Bearer sk-1' } });
  expect(lines).toHaveLength(1);
  expect(lines[0]!.endsWith('\n')).toBe(true);
  expect(JSON.parse(lines[0]!)).toEqual({
    level: 40,
    time: 5000,
    session: 'sess-1',
    status: 429,
    headers: { authorization: '[redacted]' },
    msg: 'model call failed',
  });
});
