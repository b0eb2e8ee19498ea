// The shared channel machinery around a platform adapter, with an adapter written here that records
// what it is asked to post (the real adapters are tested against fake platform servers elsewhere).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/connection.ts';
import { openCentralDb } from '../../src/db/connection.ts';
import { pruneSentParts } from '../../src/db/channel-sent-parts.ts';
import {
  Capability,
  ChannelSendError,
  createPlatformChannel,
  DEFAULT_PLATFORM_CHANNEL_OPTIONS,
  type InboundMessage,
  type OutboundMessage,
  type OutboundPiece,
  type PlatformAdapter,
  type PlatformChannelOptions,
  type PlatformEvents,
} from '../../src/host/channels/index.ts';
import { createLogger } from '../../src/host/logger.ts';
import { waitUntil } from '../harness/wait-until.ts';

const log = createLogger('silent');
let dir: string;
let db: Db;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'warren-platform-'));
  db = openCentralDb(join(dir, 'warren.db'));
});
afterEach(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

/** An adapter whose posts are recorded and whose failures a test queues up. */
function recordingAdapter(maxText = 100) {
  const posted: OutboundPiece[] = [];
  const failures: Error[] = [];
  const typed: string[] = [];
  let events: PlatformEvents | undefined;
  let starts = 0;
  let stops = 0;
  let startFails = false;
  const adapter: PlatformAdapter = {
    platform: 'telegram',
    capabilities: Capability.Buttons | Capability.Typing,
    limits: { maxText, minIntervalMs: 0, typingRefreshMs: 20 },
    async start(e) {
      starts += 1;
      if (startFails) throw new Error('platform down');
      events = e;
    },
    async stop() {
      stops += 1;
    },
    async post(piece) {
      const failure = failures.shift();
      if (failure) throw failure;
      posted.push(piece);
      return { platformMessageId: `m${posted.length}` };
    },
    async typing(chatId) {
      typed.push(chatId);
    },
    async probe() {
      return { botName: 'bot' };
    },
  };
  return {
    adapter,
    posted,
    failures,
    typed,
    events: () => events!,
    counts: () => ({ starts, stops }),
    setStartFails: (fails: boolean) => (startFails = fails),
  };
}

const send = (
  text: string,
  extra: Partial<Extract<OutboundMessage, { kind: 'send' }>> = {},
): OutboundMessage => ({
  kind: 'send',
  idempotencyKey: 'k1',
  chatId: 'c1',
  threadId: null,
  text,
  inReplyTo: 'in1',
  files: [],
  ...extra,
});

function inbound(overrides: Partial<InboundMessage> = {}): InboundMessage {
  return {
    channelType: 'telegram',
    installation: 'telegram',
    platformMessageId: '1',
    chat: { id: 'c1', isGroup: false },
    sender: { id: 'u1' },
    threadId: null,
    text: 'hi',
    attachments: [],
    mentioned: true,
    timestamp: new Date().toISOString(),
    ...overrides,
  };
}

/** The machinery around a recording adapter, with `options` over the defaults. */
const channelOf = (a: { adapter: PlatformAdapter }, options: Partial<PlatformChannelOptions> = {}) =>
  createPlatformChannel('telegram', a.adapter, { db, clock: () => new Date(), log, options });

const fastRetries = { maxRateLimitWaitMs: 5_000, checkEveryMs: 20, staleAfterMs: 200 };

describe('platform channel', () => {
  it('by default reports a channel that stopped receiving within two minutes', () => {
    const { staleAfterMs, checkEveryMs } = DEFAULT_PLATFORM_CHANNEL_OPTIONS;
    expect(staleAfterMs + checkEveryMs).toBeLessThanOrEqual(120_000);
  });

  it('splits a long reply, answers the first piece to the message, and loses no word', async () => {
    const a = recordingAdapter(100);
    const channel = createPlatformChannel('telegram', a.adapter, { db, clock: () => new Date(), log });
    const text = Array.from({ length: 80 }, (_, i) => `w${i}`).join(' ');
    await channel.send(send(text));
    expect(a.posted.length).toBeGreaterThan(2);
    expect(a.posted.every((p) => p.text.length <= 100)).toBe(true);
    expect(a.posted.map((p) => p.replyTo)).toEqual(['in1', ...a.posted.slice(1).map(() => null)]);
    expect(a.posted.map((p) => p.text).join(' ')).toBe(text);
  });

  it('waits out a 429 for the time the platform asks and posts the piece once', async () => {
    const a = recordingAdapter();
    const channel = channelOf(a, fastRetries);
    a.failures.push(new ChannelSendError('rate_limited', 'Too Many Requests', 300));
    const started = Date.now();
    await channel.send(send('hello'));
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(a.posted.map((p) => p.text)).toEqual(['hello']);
  });

  it('gives a 429 longer than it will wait back to delivery, with the wait', async () => {
    const a = recordingAdapter();
    const channel = channelOf(a, fastRetries);
    a.failures.push(new ChannelSendError('rate_limited', 'slow down', 60_000));
    await expect(channel.send(send('hello'))).rejects.toMatchObject({
      code: 'rate_limited',
      retryAfterMs: 60_000,
    });
    expect(a.posted).toEqual([]);
  });

  it('a send retried after failing half-way posts only the pieces still missing', async () => {
    const a = recordingAdapter(100);
    const channel = createPlatformChannel('telegram', a.adapter, { db, clock: () => new Date(), log });
    const text = Array.from({ length: 80 }, (_, i) => `w${i}`).join(' ');
    const expectedPieces = await (async () => {
      const probe = recordingAdapter(100);
      await createPlatformChannel('x', probe.adapter, { db, clock: () => new Date(), log }).send(
        send(text, { idempotencyKey: 'probe' }),
      );
      return probe.posted.length;
    })();
    a.posted.length = 0;
    // The first piece lands, the second fails with a network error.
    const post = a.adapter.post.bind(a.adapter);
    let calls = 0;
    let failedNonce: string | undefined;
    a.adapter.post = async (piece) => {
      calls += 1;
      if (calls === 2) {
        failedNonce = piece.nonce;
        throw new ChannelSendError('transient', 'connection reset');
      }
      return post(piece);
    };
    await expect(channel.send(send(text))).rejects.toMatchObject({ code: 'transient' });
    expect(a.posted).toHaveLength(1);
    await channel.send(send(text));
    expect(a.posted).toHaveLength(expectedPieces);
    expect(new Set(a.posted.map((p) => p.text)).size).toBe(expectedPieces); // no piece twice
    // Each piece has its own nonce, the same on every try (a platform that keeps nonces dedups by it).
    expect(new Set(a.posted.map((p) => p.nonce)).size).toBe(expectedPieces);
    expect(a.posted.every((p) => p.nonce?.length === 25)).toBe(true);
    expect(a.posted[1]!.nonce).toBe(failedNonce);
    await channel.send(send(text)); // delivered already: nothing more
    expect(a.posted).toHaveLength(expectedPieces);
  });

  it('forgets posted pieces only once they are older than the cutoff', async () => {
    const a = recordingAdapter();
    const channel = createPlatformChannel('telegram', a.adapter, { db, clock: () => new Date(), log });
    await channel.send(send('hello'));
    expect(pruneSentParts(db, new Date(Date.now() - 60_000).toISOString())).toBe(0);
    await channel.send(send('hello'));
    expect(a.posted).toHaveLength(1);
    expect(pruneSentParts(db, new Date(Date.now() + 60_000).toISOString())).toBe(1);
  });

  it('puts a card’s options on buttons with short tokens and hands back the value when pressed', async () => {
    const a = recordingAdapter(100);
    const channel = createPlatformChannel('telegram', a.adapter, { db, clock: () => new Date(), log });
    const value = `approve:${'x'.repeat(120)}`; // longer than Telegram's 64-byte callback_data
    const result = await channel.send(
      send('Deploy?', {
        card: {
          title: 'Deploy',
          body: 'v2',
          options: [
            { label: 'Approve', value },
            { label: 'Reject', value: 'reject:1' },
          ],
        },
      }),
    );
    const piece = a.posted.at(-1)!;
    expect(result.platformMessageId).toBe(`m${a.posted.length}`);
    expect(piece.buttons!.map((b) => b.label)).toEqual(['Approve', 'Reject']);
    for (const b of piece.buttons!) expect(Buffer.byteLength(b.token)).toBeLessThanOrEqual(64);

    const received: InboundMessage[] = [];
    await channel.connect(async (m) => void received.push(m));
    const token = piece.buttons![0]!.token;
    await a.events().message(inbound({ platformMessageId: 'press1', text: token, action: { value: token } }));
    await a
      .events()
      .message(inbound({ platformMessageId: 'press2', text: 'bforged', action: { value: 'bforged' } }));
    expect(received.map((m) => [m.text, m.action?.value])).toEqual([[value, value]]);
    await channel.disconnect();
  });

  it('drops an event it has seen by its delivery id, and passes a failed one on again', async () => {
    const a = recordingAdapter();
    const channel = createPlatformChannel('telegram', a.adapter, { db, clock: () => new Date(), log });
    let fail = true;
    const received: string[] = [];
    await channel.connect(async (m) => {
      if (fail) throw new Error('database busy');
      received.push(m.platformMessageId);
    });
    await expect(a.events().message(inbound(), 'u100')).rejects.toThrow('database busy');
    fail = false;
    await a.events().message(inbound(), 'u100');
    await a.events().message(inbound(), 'u100');
    expect(received).toEqual(['1']);
    expect(channel.health().lastInboundAt).not.toBeNull();
    await channel.disconnect();
  });

  it('shows typing until the reply goes out, and stops by itself at the deadline', async () => {
    const a = recordingAdapter();
    const channel = channelOf(a, { typingTimeoutMs: 150 });
    channel.startTyping!('c1', null);
    await waitUntil(
      () => a.typed.length >= 3,
      2_000,
      () => `typed ${a.typed.length} times`,
    );
    await channel.send(send('done'));
    const after = a.typed.length;
    await new Promise((r) => setTimeout(r, 100));
    expect(a.typed.length).toBe(after);

    channel.startTyping!('c2', null);
    await new Promise((r) => setTimeout(r, 400));
    const stopped = a.typed.filter((c) => c === 'c2').length;
    expect(stopped).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 100));
    expect(a.typed.filter((c) => c === 'c2').length).toBe(stopped);
  });

  it('reports an adapter that stopped receiving as unhealthy, restarts it with backoff, and recovers', async () => {
    const a = recordingAdapter();
    const channel = channelOf(a, { ...fastRetries, restartBackoff: { firstMs: 50, maxMs: 200 } });
    await channel.connect(async () => undefined);
    expect(channel.health().connected).toBe(true);
    a.setStartFails(true);
    // No sign of life: unhealthy within the stale period plus a check, and restarts are tried.
    await waitUntil(
      () => !channel.health().connected,
      2_000,
      () => 'still healthy',
    );
    await waitUntil(
      () => a.counts().starts >= 3,
      3_000,
      () => `started ${a.counts().starts} times`,
    );
    expect(channel.health().lastError).toMatch(/platform down|no sign of life/);
    a.setStartFails(false);
    await waitUntil(
      () => a.counts().starts >= 4,
      3_000,
      () => `started ${a.counts().starts} times`,
    );
    a.events().alive();
    expect(channel.health()).toMatchObject({ connected: true, lastError: null });
    await channel.disconnect();
  });

  it('starts even when the platform is down at start-up, and connects when it answers', async () => {
    const a = recordingAdapter();
    a.setStartFails(true);
    const channel = channelOf(a, { ...fastRetries, restartBackoff: { firstMs: 20, maxMs: 50 } });
    await channel.connect(async () => undefined);
    expect(channel.health()).toMatchObject({ connected: false, lastError: 'platform down' });
    a.setStartFails(false);
    await waitUntil(
      () => a.counts().starts >= 2,
      2_000,
      () => `started ${a.counts().starts} times`,
    );
    a.events().alive();
    expect(channel.health().connected).toBe(true);
    await channel.disconnect();
  });
});
