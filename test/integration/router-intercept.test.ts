// The router hands card clicks and card replies to the approvals engine after its dedup claim: a
// platform that redelivers a click gets it decided once, and a failed decision can be retried.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { expect, test } from 'vitest';
import { openCentralDb } from '../../src/db/connection.ts';
import type { InboundMessage } from '../../src/host/channels/channel.ts';
import { createRouter } from '../../src/host/router.ts';

const click: InboundMessage = {
  channelType: 'webchat',
  installation: 'default',
  platformMessageId: 'click-1',
  chat: { id: 'olga-dm', isGroup: false },
  sender: { id: 'olga', name: 'Olga' },
  threadId: null,
  text: 'apr:apr_1:approve',
  attachments: [],
  mentioned: true,
  action: { value: 'apr:apr_1:approve' },
  timestamp: '2026-11-23T10:00:00.000Z',
};

function routerWith(intercept: (message: InboundMessage) => Promise<boolean>) {
  const dataDir = mkdtempSync(join(tmpdir(), 'warren-router-'));
  const db = openCentralDb(join(dataDir, 'warren.db'));
  const router = createRouter({
    db,
    dataDir,
    clock: () => new Date('2026-11-23T10:00:00.000Z'),
    log: pino({ level: 'silent' }),
    wake: () => {},
    intercept,
  });
  return { db, router };
}

test('a redelivered click is a duplicate: the engine sees it once', async () => {
  const seen: string[] = [];
  const { db, router } = routerWith(async (message) => {
    seen.push(message.platformMessageId);
    return true;
  });
  expect(await router.route(click)).toEqual({ status: 'intercepted' });
  expect(await router.route(click)).toEqual({ status: 'duplicate' });
  expect(seen).toEqual(['click-1']);
  // Consumed, not dropped: nothing about it in dropped_messages, and no chat was made for it.
  expect(db.prepare('SELECT count(*) FROM dropped_messages').pluck().get()).toBe(0);
  expect(db.prepare('SELECT count(*) FROM messaging_groups').pluck().get()).toBe(0);
});

test('a decision that failed gives the claim back, so the redelivery is decided', async () => {
  let calls = 0;
  const { router } = routerWith(async () => {
    calls++;
    if (calls === 1) throw new Error('database is locked');
    return true;
  });
  await expect(router.route(click)).rejects.toThrow('database is locked');
  expect(await router.route(click)).toEqual({ status: 'intercepted' });
  expect(calls).toBe(2);
});

test('a message the engine does not take is routed as usual', async () => {
  const { router } = routerWith(async () => false);
  // No wiring for this chat and no approvals engine to ask: recorded as dropped.
  expect(await router.route({ ...click, platformMessageId: 'm-2' })).toEqual({
    status: 'dropped',
    reason: 'no_wiring',
  });
});
