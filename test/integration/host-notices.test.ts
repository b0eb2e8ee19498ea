// The host speaking for itself in a chat (notices, answers to /link) goes through delivery's attempt
// code: every notice is recorded in delivery_attempts, and none of it reaches an agent's files.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, expect, test } from 'vitest';
import { createAgentGroup } from '../../src/db/agent-groups.ts';
import { openCentralDb } from '../../src/db/connection.ts';
import { listAttempts } from '../../src/db/deliveries.ts';
import { findOrCreateMessagingGroup } from '../../src/db/messaging-groups.ts';
import { createSession } from '../../src/db/sessions.ts';
import { ChannelSendError } from '../../src/host/channels/channel.ts';
import { createChannelRegistry } from '../../src/host/channels/registry.ts';
import { createNotices } from '../../src/host/delivery/index.ts';
import {
  createSessionFiles,
  sessionPaths,
  withSessionFile,
  writeRouting,
} from '../../src/host/sessions/index.ts';
import { recordingChannel } from '../harness/approvals.ts';

const now = '2026-12-01T10:00:00.000Z';
const root = mkdtempSync(join(tmpdir(), 'warren-notices-'));
afterEach(() => rmSync(root, { recursive: true, force: true }));

function world() {
  const db = openCentralDb(join(root, `${Math.random()}.db`));
  const channel = recordingChannel('webchat', 1);
  const channels = createChannelRegistry();
  channels.register(channel);
  const notices = createNotices({
    db,
    dataDir: root,
    channels,
    clock: () => new Date(now),
    log: pino({ level: 'silent' }),
  });
  return { db, channel, notices };
}

test('a notice to a chat outside any session is sent and recorded with no session', async () => {
  const { db, channel, notices } = world();
  const to = { channelType: 'webchat', chatId: 'c1', threadId: null };
  expect(await notices.say(to, 'Your code is 123456.', 'control:mg_1:p1')).toBe(true);
  expect(await notices.say(to, 'Your code is 123456.', 'control:mg_1:p1')).toBe(true);

  expect(channel.sent).toMatchObject([
    { kind: 'send', chatId: 'c1', text: 'Your code is 123456.', idempotencyKey: 'control:mg_1:p1' },
    { kind: 'send', chatId: 'c1', idempotencyKey: 'control:mg_1:p1' },
  ]);
  expect(listAttempts(db, null, 'notice:control:mg_1:p1')).toMatchObject([
    {
      sessionId: null,
      attempt: 1,
      status: 'delivered',
      channelType: 'webchat',
      platformMessageId: 'webchat-msg-1',
    },
    { sessionId: null, attempt: 2, status: 'delivered', platformMessageId: 'webchat-msg-2' },
  ]);
  db.close();
});

test('a notice the channel refuses is recorded as failed with its code', async () => {
  const { db, channel, notices } = world();
  channel.send = async () => {
    throw new ChannelSendError('forbidden', 'the bot was removed from the chat');
  };
  const to = { channelType: 'webchat', chatId: 'c1', threadId: null };
  expect(await notices.say(to, 'hello', 'k1')).toBe(false);
  expect(await notices.say({ ...to, channelType: 'nowhere' }, 'hello', 'k2')).toBe(false);

  expect(listAttempts(db, null, 'notice:k1')).toMatchObject([
    { status: 'failed', errorCode: 'forbidden', error: 'the bot was removed from the chat' },
  ]);
  expect(listAttempts(db, null, 'notice:k2')).toMatchObject([
    { status: 'failed', errorCode: 'unsupported', channelType: 'nowhere' },
  ]);
  db.close();
});

test("a notice to a session's chat is recorded under the session and never written to its files", async () => {
  const { db, channel, notices } = world();
  const group = createAgentGroup(db, { name: 'Main', folder: 'main' }, now);
  const chat = findOrCreateMessagingGroup(db, { channelType: 'webchat', platformId: 'c1' }, now);
  const session = createSession(
    db,
    { agentGroupId: group.id, messagingGroupId: chat.messagingGroup.id, threadId: null },
    now,
  );
  const paths = sessionPaths(root, group.id, session.id);
  createSessionFiles(paths);
  writeRouting(paths, { channelType: 'webchat', platformId: 'c1', threadId: 't1' });

  expect(await notices.notifyUser(session.id, 'task-paused:1', 'Your task is paused.', 'p-7')).toBe(true);

  expect(channel.sent).toMatchObject([
    { kind: 'send', chatId: 'c1', threadId: 't1', text: 'Your task is paused.', inReplyTo: 'p-7' },
  ]);
  expect(listAttempts(db, session.id, 'notice:task-paused:1')).toMatchObject([
    { status: 'delivered', idempotencyKey: `${session.id}:notice:task-paused:1` },
  ]);
  const rows = (file: 'inbound' | 'outbound', table: string) =>
    withSessionFile(paths, file, 'read', (s) => s.prepare(`SELECT count(*) FROM ${table}`).pluck().get());
  expect([
    rows('inbound', 'messages_in'),
    rows('inbound', 'delivered'),
    rows('outbound', 'messages_out'),
  ]).toEqual([0, 0, 0]);
  db.close();
});
