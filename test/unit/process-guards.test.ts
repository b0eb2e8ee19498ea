// The host's last line against errors nobody caught: rejections are logged and survived, an
// uncaught exception shuts the host down in order and exits 1.
import { EventEmitter } from 'node:events';
import { expect, test, vi } from 'vitest';
import { guardProcess } from '../../src/host/process-guards.ts';

function setup() {
  const target = new EventEmitter();
  const log = { error: vi.fn(), fatal: vi.fn() };
  const shutdown = vi.fn(async () => undefined);
  const exit = vi.fn();
  const unguard = guardProcess({ log, shutdown, exit, target });
  return { target, log, shutdown, exit, unguard };
}

test('an unhandled rejection is logged with its reason and nothing stops', () => {
  const { target, log, shutdown, exit } = setup();
  const reason = new Error('boom');
  target.emit('unhandledRejection', reason, Promise.resolve());
  target.emit('unhandledRejection', reason, Promise.resolve());
  expect(log.error).toHaveBeenCalledTimes(2);
  expect(log.error.mock.calls[1]![0]).toEqual({ err: reason, unhandledRejections: 2 });
  expect(log.error.mock.calls[1]![1]).toContain('the host keeps serving');
  expect(shutdown).not.toHaveBeenCalled();
  expect(exit).not.toHaveBeenCalled();
});

test('an uncaught exception shuts the host down once, then exits with status 1', async () => {
  const { target, log, shutdown, exit } = setup();
  target.emit('uncaughtException', new Error('sync throw'), 'uncaughtException');
  target.emit('uncaughtException', new Error('another'), 'uncaughtException');
  await vi.waitFor(() => expect(exit).toHaveBeenCalledWith(1));
  expect(log.fatal).toHaveBeenCalledTimes(2);
  expect(shutdown).toHaveBeenCalledTimes(1);
});

test('the guard can be removed', () => {
  const { target, unguard } = setup();
  unguard();
  expect(target.listenerCount('unhandledRejection')).toBe(0);
  expect(target.listenerCount('uncaughtException')).toBe(0);
});
