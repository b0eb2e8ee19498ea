// Agents messaging agents through delivery, on real session files (no containers): what is delivered
// where, and the caps that refuse the rest (src/host/access/agent-messages.ts).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { beforeEach, describe, expect, test } from 'vitest';
import {
  closeRunnerSession,
  openRunnerSession,
  writeMessagesOut,
} from '../../container/agent-runner/src/db/session.ts';
import { createAgentGroup, type AgentGroup } from '../../src/db/agent-groups.ts';
import { openCentralDb, type Db } from '../../src/db/connection.ts';
import { addAgentDestination } from '../../src/db/destinations.ts';
import { listDroppedMessages } from '../../src/db/dropped-messages.ts';
import { findOrCreateMessagingGroup } from '../../src/db/messaging-groups.ts';
import type { MessageInRow } from '../../src/shared/session-contract.ts';
import { createSession, findActiveSession, type Session } from '../../src/db/sessions.ts';
import { capFor, createAgentMessages, hopsAfter } from '../../src/host/access/index.ts';
import { createChannelRegistry } from '../../src/host/channels/registry.ts';
import { createDelivery, type Delivery } from '../../src/host/delivery/index.ts';
import {
  createSessionFiles,
  insertMessagesIn,
  sessionPaths,
  withSessionFile,
  writeRouting,
  type SessionPaths,
} from '../../src/host/sessions/index.ts';

const start = Date.parse('2026-11-23T10:00:00.000Z');

let db: Db;
let dataDir: string;
let now: number;
let woken: string[];
let delivery: Delivery;
let alpha: AgentGroup;
let beta: AgentGroup;

function setUp(caps = { perPairPerMinute: 100, maxHops: 4 }) {
  const log = pino({ level: 'silent' });
  const clock = () => new Date(now);
  const agentMessages = createAgentMessages({ db, dataDir, clock, log, caps, wake: (id) => woken.push(id) });
  delivery = createDelivery({
    db,
    dataDir,
    channels: createChannelRegistry(),
    clock,
    log,
    wake: (id) => woken.push(id),
    watchFiles: false,
    agentMessages,
  });
}

beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'warren-agents-'));
  db = openCentralDb(join(dataDir, 'warren.db'));
  now = start;
  woken = [];
  alpha = createAgentGroup(db, { name: 'Alpha', folder: 'alpha' }, iso());
  beta = createAgentGroup(db, { name: 'Beta', folder: 'beta' }, iso());
  setUp();
  return async () => {
    await delivery.stop();
    db.close();
  };
});

const iso = () => new Date(now).toISOString();

/** Alpha's conversation with a person in web chat `chat`. */
function chatSession(group: AgentGroup, chat = 'alpha-chat'): { session: Session; paths: SessionPaths } {
  const mg = findOrCreateMessagingGroup(
    db,
    { channelType: 'webchat', platformId: chat },
    iso(),
  ).messagingGroup;
  const session = createSession(
    db,
    { agentGroupId: group.id, messagingGroupId: mg.id, threadId: null },
    iso(),
  );
  const paths = sessionPaths(dataDir, group.id, session.id);
  createSessionFiles(paths);
  writeRouting(paths, { channelType: 'webchat', platformId: chat, threadId: null });
  insertMessagesIn(paths, [
    { kind: 'chat', timestamp: iso(), content: { text: 'ask beta', sender: { id: 'webchat:ana' } } },
  ]);
  return { session, paths };
}

/** What the runner writes when the agent sends `text` to agent group `to`, answering `inReplyTo`. */
function agentSays(paths: SessionPaths, to: string, text: string, inReplyTo: string | null = null): string {
  const runner = openRunnerSession({
    sessionId: paths.sessionId,
    inboundPath: paths.inbound,
    outboundPath: paths.outbound,
  });
  const [written] = writeMessagesOut(runner, [
    {
      kind: 'agent',
      operation: { op: 'send', text, files: [] },
      timestamp: iso(),
      platformId: to,
      inReplyTo,
    },
  ]);
  closeRunnerSession(runner);
  return written!.id;
}

const rows = (paths: SessionPaths, kind: string) =>
  withSessionFile(paths, 'inbound', 'read', (s) =>
    s.prepare('SELECT * FROM messages_in WHERE kind = ? ORDER BY seq').all(kind),
  ) as MessageInRow[];
const contentOf = (row: MessageInRow) => JSON.parse(row.content) as Record<string, unknown>;
const delivered = (paths: SessionPaths) =>
  withSessionFile(paths, 'inbound', 'read', (s) =>
    s.prepare('SELECT message_out_id AS id, status FROM delivered').all(),
  ) as { id: string; status: string }[];
const betaShared = () => {
  const s = findActiveSession(db, { agentGroupId: beta.id, messagingGroupId: null, threadId: null })!;
  return { session: s, paths: sessionPaths(dataDir, beta.id, s.id) };
};

describe('delivery between agents', () => {
  test('a message to a destination agent lands in its agent-shared session, and the answer comes back', async () => {
    addAgentDestination(db, alpha.id, 'beta', beta.id, iso());
    const a = chatSession(alpha);
    const out = agentSays(a.paths, beta.id, 'what is 2+2?');
    await delivery.deliverSession(a.session.id);

    const b = betaShared();
    const [received] = rows(b.paths, 'agent');
    expect(contentOf(received!)).toEqual({
      text: 'what is 2+2?',
      fromAgentGroup: alpha.id,
      fromSession: a.session.id,
      hops: 1,
    });
    expect(received!.source_session_id).toBe(a.session.id);
    expect(delivered(a.paths)).toEqual([{ id: out, status: 'delivered' }]);
    expect(woken).toEqual([b.session.id]);

    // Beta answers (no destination back is needed for an answer): into the session that asked.
    agentSays(b.paths, alpha.id, '4', received!.id);
    await delivery.deliverSession(b.session.id);
    const [answer] = rows(a.paths, 'agent');
    expect(contentOf(answer!)).toMatchObject({ text: '4', fromAgentGroup: beta.id, hops: 2 });
    expect(woken).toEqual([b.session.id, a.session.id]);
  });

  test('delivering the same row again writes it once', async () => {
    addAgentDestination(db, alpha.id, 'beta', beta.id, iso());
    const a = chatSession(alpha);
    agentSays(a.paths, beta.id, 'once');
    await delivery.deliverSession(a.session.id);
    withSessionFile(a.paths, 'inbound', 'write', (s) => s.prepare('DELETE FROM delivered').run());
    setUp(); // a new delivery (a restart) that forgot what it settled
    await delivery.deliverSession(a.session.id);
    expect(rows(betaShared().paths, 'agent')).toHaveLength(1);
  });

  test('an agent that is not a destination is refused, recorded, and the sender told without a new turn', async () => {
    const a = chatSession(alpha);
    const out = agentSays(a.paths, beta.id, 'let me in');
    await delivery.deliverSession(a.session.id);

    expect(findActiveSession(db, { agentGroupId: beta.id, messagingGroupId: null, threadId: null })).toBe(
      undefined,
    );
    expect(delivered(a.paths)).toEqual([{ id: out, status: 'failed' }]);
    const [notice] = rows(a.paths, 'system');
    expect(notice!.trigger).toBe(0);
    expect(contentOf(notice!)).toMatchObject({
      event: 'agent_message_refused',
      reason: 'agent_not_allowed',
      to: beta.id,
    });
    expect(listDroppedMessages(db)).toMatchObject([
      { channelType: 'agent', chatId: beta.id, senderId: alpha.id, reason: 'agent_not_allowed', count: 1 },
    ]);
    expect(woken).toEqual([]);
    const attempt = db
      .prepare('SELECT status, error_code AS code, channel_type AS channel FROM delivery_attempts')
      .get();
    expect(attempt).toEqual({ status: 'failed', code: 'destination_denied', channel: 'agent' });
  });
});

describe('caps', () => {
  test('hops count agent messages in a row; anything else starts a chain at 1', () => {
    const agent = (hops?: number) => ({
      kind: 'agent' as const,
      content: JSON.stringify({ text: '', fromAgentGroup: 'a', fromSession: 's', ...(hops ? { hops } : {}) }),
    });
    expect(hopsAfter(undefined)).toBe(1);
    expect(hopsAfter({ kind: 'chat', content: '{}' })).toBe(1);
    expect(hopsAfter(agent())).toBe(2);
    expect(hopsAfter(agent(7))).toBe(8);
    const caps = { perPairPerMinute: 3, maxHops: 8 };
    expect(capFor(8, 0, caps)).toBeNull();
    expect(capFor(9, 0, caps)).toBe('agent_loop_capped');
    expect(capFor(1, 3, caps)).toBe('agent_rate_capped');
  });

  test('a loop between two agents stops at maxHops, and both sides can see why', async () => {
    addAgentDestination(db, alpha.id, 'beta', beta.id, iso());
    const a = chatSession(alpha);
    agentSays(a.paths, beta.id, 'ping');
    await delivery.deliverSession(a.session.id);
    const b = betaShared();
    // Each side answers the last agent message it got, as two echoing agents do.
    let turn = 0;
    for (;;) {
      const [from, toGroup] = turn % 2 === 0 ? [b, alpha.id] : [a, beta.id];
      const last = rows(from.paths, 'agent').at(-1)!;
      agentSays(from.paths, toGroup, `echo ${turn}`, last.id);
      await delivery.deliverSession(from.session.id);
      turn++;
      if (rows(from.paths, 'system').length > 0) break;
      expect(turn).toBeLessThan(10);
    }
    const hops = [...rows(a.paths, 'agent'), ...rows(b.paths, 'agent')].map((r) => contentOf(r).hops).sort();
    expect(hops).toEqual([1, 2, 3, 4]); // maxHops 4: the 5th in a row was refused
    expect(listDroppedMessages(db)).toMatchObject([{ reason: 'agent_loop_capped', count: 1 }]);
    const refusedAt = turn % 2 === 0 ? a : b;
    expect(contentOf(rows(refusedAt.paths, 'system')[0]!)).toMatchObject({ reason: 'agent_loop_capped' });
  });

  test("a looping agent cannot reset the count by answering the person's message instead", async () => {
    addAgentDestination(db, alpha.id, 'beta', beta.id, iso());
    addAgentDestination(db, beta.id, 'alpha', alpha.id, iso());
    const a = chatSession(alpha);
    const person = rows(a.paths, 'chat')[0]!;
    agentSays(a.paths, beta.id, 'ping');
    await delivery.deliverSession(a.session.id);
    const b = betaShared();
    // Each side claims its message answers something that is no agent message (the person's, or none).
    let turn = 0;
    for (;;) {
      const [from, toGroup, claimed] = turn % 2 === 0 ? [b, alpha.id, null] : [a, beta.id, person.id];
      agentSays(from.paths, toGroup, `echo ${turn}`, claimed);
      await delivery.deliverSession(from.session.id);
      turn++;
      if (rows(from.paths, 'system').length > 0) break;
      expect(turn).toBeLessThan(10);
    }
    const hops = [...rows(a.paths, 'agent'), ...rows(b.paths, 'agent')].map((r) => contentOf(r).hops).sort();
    expect(hops).toEqual([1, 2, 3, 4]);
    expect(listDroppedMessages(db)).toMatchObject([{ reason: 'agent_loop_capped' }]);
  });

  test('a pair over its rate per minute is refused until the minute has passed', async () => {
    setUp({ perPairPerMinute: 2, maxHops: 100 });
    addAgentDestination(db, alpha.id, 'beta', beta.id, iso());
    const a = chatSession(alpha);
    for (const text of ['one', 'two', 'three']) agentSays(a.paths, beta.id, text);
    await delivery.deliverSession(a.session.id);
    expect(rows(betaShared().paths, 'agent').map((r) => contentOf(r).text)).toEqual(['one', 'two']);
    expect(contentOf(rows(a.paths, 'system')[0]!)).toMatchObject({ reason: 'agent_rate_capped' });

    now += 60_001;
    agentSays(a.paths, beta.id, 'four');
    await delivery.deliverSession(a.session.id);
    expect(rows(betaShared().paths, 'agent').map((r) => contentOf(r).text)).toEqual(['one', 'two', 'four']);
    expect(listDroppedMessages(db)).toMatchObject([{ reason: 'agent_rate_capped', count: 1 }]);
  });
});
