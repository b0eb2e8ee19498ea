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

test('while a turn is bound, every line names its message and only its own fields; after it, none does', () => {
  const lines: string[] = [];
  const log = createLog({ sessionId: 'sess-1', clock: () => new Date(5000), write: (l) => lines.push(l) });
  log.bind({ corr: 'in_a', batch: ['in_0', 'in_a'] });
  log.info('model call', { status: 200 });
  log.warn('tool call', { corr: 'in_own' }); // a line's own field wins
  log.bind(undefined);
  log.info('idle for 60000 ms; exiting');
  const records = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  const base = { level: 30, time: 5000, session: 'sess-1' };
  expect(records).toEqual([
    { ...base, corr: 'in_a', batch: ['in_0', 'in_a'], status: 200, msg: 'model call' },
    { ...base, level: 40, corr: 'in_own', batch: ['in_0', 'in_a'], msg: 'tool call' },
    { ...base, msg: 'idle for 60000 ms; exiting' },
  ]);
});
