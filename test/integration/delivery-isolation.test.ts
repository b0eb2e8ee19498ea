// Delivery on real session files. Each outbound row is settled on its own (DESIGN §10): a row whose
// handler throws fails alone, with the reason, and the rows after it are still delivered, in order.
// Waits are paced: a failed send waits out its back-off, a locked file only until the runner commits.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import pino from 'pino';
import { afterEach, expect, test } from 'vitest';
import {
  closeRunnerSession,
  openRunnerSession,
  writeMessagesOut,
} from '../../container/agent-runner/src/db/session.ts';
import { createAgentGroup } from '../../src/db/agent-groups.ts';
import { ringBell } from '../../src/shared/commit-events.ts';
import { openCentralDb } from '../../src/db/connection.ts';
import { findOrCreateMessagingGroup } from '../../src/db/messaging-groups.ts';
import type { OutboundOperation } from '../../src/shared/session-content.ts';
import { createSession } from '../../src/db/sessions.ts';
import { ChannelSendError, type Channel } from '../../src/host/channels/channel.ts';
import { createChannelRegistry } from '../../src/host/channels/registry.ts';
import { createDelivery, type DeliveryDeps } from '../../src/host/delivery/index.ts';
import { createMetrics } from '../../src/host/metrics/index.ts';
import {
  createSessionFiles,
  sessionPaths,
  withSessionFile,
  writeRouting,
} from '../../src/host/sessions/index.ts';
import { recordingChannel } from '../harness/approvals.ts';
import { parsePrometheusText } from '../harness/prometheus.ts';
import { waitUntil } from '../harness/wait-until.ts';

const root = mkdtempSync(join(tmpdir(), 'warren-isolation-'));
afterEach(() => rmSync(root, { recursive: true, force: true }));

/** A session on real files, its chat on `channel`, and delivery over it (no file watching). */
function deliveryOver(channel: Channel, extra: Partial<DeliveryDeps> = {}) {
  const now = '2026-12-01T10:00:00.000Z';
  const db = openCentralDb(join(root, 'warren.db'));
  const group = createAgentGroup(db, { name: 'Main', folder: 'main' }, now);
  const chat = findOrCreateMessagingGroup(
    db,
    { channelType: 'webchat', platformId: 'c1' },
    now,
  ).messagingGroup;
  const session = createSession(
    db,
    { agentGroupId: group.id, messagingGroupId: chat.id, threadId: null },
    now,
  );
  const paths = sessionPaths(root, group.id, session.id);
  createSessionFiles(paths);
  writeRouting(paths, { channelType: 'webchat', platformId: 'c1', threadId: null });
  const channels = createChannelRegistry();
  channels.register(channel);
  const woken: string[] = [];
  const delivery = createDelivery({
    db,
    dataDir: root,
    channels,
    clock: () => new Date(Date.parse(now) + 300), // delivered 0.3 s after the runner wrote the rows
    log: pino({ level: 'silent' }),
    wake: (id) => woken.push(id),
    watchFiles: false,
    ...extra,
  });
  /** The runner writes these rows to outbound.db. */
  const write = (operations: OutboundOperation[]) => {
    const runner = openRunnerSession({
      sessionId: session.id,
      inboundPath: paths.inbound,
      outboundPath: paths.outbound,
    });
    const rows = writeMessagesOut(
      runner,
      operations.map((operation) => ({ kind: 'chat' as const, operation, timestamp: now })),
    );
    closeRunnerSession(runner);
    return rows;
  };
  return { db, session, paths, delivery, woken, write };
}

test('a row whose handler throws fails alone with the reason; later rows are delivered and counted', async () => {
  const channel = recordingChannel('webchat', 1);
  const metrics = createMetrics({ defaultMetrics: false });
  const { db, session, paths, delivery, woken, write } = deliveryOver(channel, {
    metrics,
    actions: {
      handles: (action) => action === 'explode',
      apply: () => {
        throw new Error('the handler exploded');
      },
    },
  });
  const [, boom] = write([
    { op: 'send', text: 'before', files: [] },
    { op: 'action', action: 'explode', payload: {} },
    { op: 'send', text: 'after', files: [] },
  ]);

  await delivery.deliverSession(session.id);
  await delivery.stop();

  expect(channel.sent.map((m) => (m.kind === 'send' ? m.text : m.kind))).toEqual(['before', 'after']);
  const settled = withSessionFile(paths, 'inbound', 'read', (s) =>
    s.prepare('SELECT message_out_id, status FROM delivered WHERE message_out_id = ?').get(boom!.id),
  );
  expect(settled).toMatchObject({ status: 'failed' });
  const told = withSessionFile(paths, 'inbound', 'read', (s) =>
    s.prepare("SELECT content FROM messages_in WHERE kind = 'system'").pluck().all(),
  ) as string[];
  expect(told.join('\n')).toMatch(/the host could not handle this message: the handler exploded/);
  expect(woken).toContain(session.id);
  const m = parsePrometheusText((await metrics.scrape()).text);
  expect(m.value('warren_delivery_latency_seconds_count')).toBe(2);
  expect(m.value('warren_delivery_latency_seconds_sum')).toBeCloseTo(0.6);
  expect(m.series('warren_delivery_failures_total')).toEqual([{ labels: { code: 'unknown' }, value: 1 }]);
  db.close();
});

test('a retry waits out its backoff even when new work arrives while the failing send is under way', async () => {
  const tries: number[] = [];
  const later: { setup?: ReturnType<typeof deliveryOver> } = {};
  const flaky: Channel = {
    ...recordingChannel('webchat', 1),
    async send() {
      tries.push(performance.now());
      if (tries.length > 1) return { platformMessageId: 'p-1' };
      // The runner writes again (a file event) while this send is still failing.
      void later.setup!.delivery.deliverSession(later.setup!.session.id);
      await sleep(20);
      throw new ChannelSendError('transient', 'HTTP 503');
    },
  };
  const setup = (later.setup = deliveryOver(flaky));
  const delivery = setup.delivery;
  setup.write([{ op: 'send', text: 'once', files: [] }]);
  await delivery.deliverSession(setup.session.id);
  await waitUntil(
    () => tries.length >= 2,
    5_000,
    () => `${tries.length} tries`,
  );
  await delivery.stop();
  // Delivery's first backoff is 500 ms: the file event during the failing send did not hurry it.
  expect(tries[1]! - tries[0]!).toBeGreaterThanOrEqual(450);
  setup.db.close();
});

test("a read that found the runner's lock is retried at the runner's next ring, not at the end of its back-off", async () => {
  const channel = recordingChannel('webchat', 1);
  const setup = deliveryOver(channel, { watchFiles: true, pollMs: 60_000 });
  setup.write([{ op: 'send', text: 'held', files: [] }]);
  // The runner holds outbound.db for 2.5 s: delivery's reads find it locked and back off, 1 ms doubling
  // to 2 s, never waiting on the event loop.
  const runner = new Database(setup.paths.outbound);
  runner.pragma('journal_mode = DELETE');
  runner.exec('BEGIN EXCLUSIVE');
  setup.delivery.watchSession(setup.session.id);
  await setup.delivery.deliverSession(setup.session.id);
  await sleep(2500);
  expect(channel.sent).toHaveLength(0);
  // Its commit and the ring after it end the wait: the pass runs at once, where the pending retry
  // could be up to 2 s away.
  runner.prepare("INSERT INTO session_state (key, value, updated_at) VALUES ('k', 'v', 'now')").run();
  runner.exec('COMMIT');
  ringBell(setup.paths.outDir);
  const committed = performance.now();
  await waitUntil(
    () => channel.sent.length === 1,
    5_000,
    () => `${channel.sent.length} sent`,
  );
  const waited = performance.now() - committed;
  runner.close();
  await setup.delivery.stop();
  setup.db.close();
  expect(waited).toBeLessThan(300);
});

test("a running session is polled often until its runner's bell is heard, then only after a while without a ring", async () => {
  const channel = recordingChannel('webchat', 1);
  const setup = deliveryOver(channel, { watchFiles: true, pollMs: 50, eventPollMs: 1500 });
  /** Rows committed without the ring (inside the runner's own transaction: it rings only after one). */
  const writeWithoutRing = (text: string) => {
    const runner = openRunnerSession({
      sessionId: setup.session.id,
      inboundPath: setup.paths.inbound,
      outboundPath: setup.paths.outbound,
    });
    runner.outbound.transaction(() =>
      writeMessagesOut(runner, [
        { kind: 'chat', operation: { op: 'send', text, files: [] }, timestamp: '2026-12-01T10:00:00.000Z' },
      ]),
    )();
    closeRunnerSession(runner);
  };
  const sentTexts = () => channel.sent.map((m) => (m.kind === 'send' ? m.text : m.kind));
  setup.delivery.watchSession(setup.session.id);

  // No ring heard yet: the 50 ms poll finds it.
  writeWithoutRing('unrung, before any ring');
  await waitUntil(
    () => sentTexts().length === 1,
    2_000,
    () => `${sentTexts().length} sent`,
  );

  // A ring is heard at once; from then on an unrung row waits for the long poll.
  setup.write([{ op: 'send', text: 'rung', files: [] }]);
  await waitUntil(
    () => sentTexts().length === 2,
    2_000,
    () => `${sentTexts().length} sent`,
  );
  const quiet = performance.now();
  writeWithoutRing('unrung, after a ring');
  await sleep(700);
  expect(sentTexts()).toHaveLength(2);
  await waitUntil(
    () => sentTexts().length === 3,
    3_000,
    () => `${sentTexts().length} sent`,
  );
  expect(performance.now() - quiet).toBeGreaterThanOrEqual(1000);
  expect(sentTexts()).toEqual(['unrung, before any ring', 'rung', 'unrung, after a ring']);
  await setup.delivery.stop();
  setup.db.close();
});
