// Files a message carries are stored in the session's in/inbox/ before its row, and the row lists
// them; a held message keeps their bytes until it is replayed.
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pino from 'pino';
import { expect, test } from 'vitest';
import { createAgentGroup } from '../../src/db/agent-groups.ts';
import { openCentralDb } from '../../src/db/connection.ts';
import { getSession } from '../../src/db/sessions.ts';
import { fromStored, toStored, type StoredMessage } from '../../src/host/approvals/held.ts';
import type { InboundMessage } from '../../src/host/channels/channel.ts';
import { createRouter } from '../../src/host/router.ts';
import { sessionPaths } from '../../src/host/sessions/index.ts';

const NOW = '2026-11-23T10:00:00.000Z';

const message = (id: string, attachments: InboundMessage['attachments']): InboundMessage => ({
  channelType: 'webchat',
  installation: '',
  platformMessageId: id,
  chat: { id: 'lobby', isGroup: false },
  sender: { id: 'ana', name: 'Ana' },
  threadId: null,
  text: 'see attached',
  attachments,
  mentioned: true,
  timestamp: NOW,
});
const attachment = (name: string, text: string, type = 'text/plain') => ({
  name,
  type,
  size: Buffer.byteLength(text),
  data: Buffer.from(text),
});

function setUp() {
  const dataDir = mkdtempSync(join(tmpdir(), 'warren-router-files-'));
  const db = openCentralDb(join(dataDir, 'warren.db'));
  const main = createAgentGroup(db, { name: 'Main', folder: 'main' }, NOW);
  const router = createRouter({
    db,
    dataDir,
    clock: () => new Date(NOW),
    log: pino({ level: 'silent' }),
    wake: () => {},
    autoWire: true,
    attachments: { maxFileBytes: 100, maxMessageBytes: 1000 },
  });
  /** The session's paths and the content of its row `messageId`. */
  const stored = (sessionId: string, messageId: string) => {
    const paths = sessionPaths(dataDir, main.id, getSession(db, sessionId)!.id);
    const inbound = new Database(paths.inbound, { readonly: true });
    const content = inbound.prepare('SELECT content FROM messages_in WHERE id = ?').pluck().get(messageId);
    inbound.close();
    return { paths, content: JSON.parse(content as string) as Record<string, unknown> };
  };
  return { router, stored };
}

test('a routed message has its files in in/inbox/<row id>/ and its row lists them; a file over the cap is named', async () => {
  const { router, stored } = setUp();
  const outcome = await router.route(
    message('m1', [attachment('../notes.txt', 'remember the milk'), attachment('big.log', 'x'.repeat(101))]),
  );
  expect(outcome.status).toBe('routed');
  const [routed] = (outcome as Extract<typeof outcome, { status: 'routed' }>).sessions;
  const { paths, content } = stored(routed!.sessionId, routed!.messageId);
  expect(content).toMatchObject({
    text: 'see attached\n[file not stored: big.log (101 bytes), larger than the 100 bytes a file may have]',
    attachments: [
      { name: 'notes.txt', type: 'text/plain', size: 17, path: `inbox/${routed!.messageId}/notes.txt` },
    ],
  });
  expect(readdirSync(join(paths.inbox, routed!.messageId))).toEqual(['notes.txt']);
  expect(readFileSync(join(paths.inDir, `inbox/${routed!.messageId}/notes.txt`), 'utf8')).toBe(
    'remember the milk',
  );
});

test('a click that reaches an agent points its row at the card, so the answer replies to the card', async () => {
  const { router, stored } = setUp();
  const click = {
    ...message('press-77', []),
    text: 'yes',
    action: { value: 'yes', platformMessageId: 'card-5' },
  };
  const outcome = await router.route(click);
  const [routed] = (outcome as Extract<typeof outcome, { status: 'routed' }>).sessions;
  expect(stored(routed!.sessionId, routed!.messageId).content).toMatchObject({
    text: 'yes',
    platformMessageId: 'card-5',
  });
  // Its dedup key is still the press: a redelivered press is a duplicate.
  expect(await router.route(click)).toEqual({ status: 'duplicate' });
});

test('a held message replayed after its approval stores the bytes it arrived with', async () => {
  const { router, stored } = setUp();
  // What the approvals engine keeps (JSON, bytes as base64) and gives back to the router.
  const held = JSON.parse(JSON.stringify(toStored(message('m2', [attachment('a.txt', 'held bytes')]))));
  const outcome = await router.replay(fromStored(held as StoredMessage));
  const [routed] = (outcome as Extract<typeof outcome, { status: 'routed' }>).sessions;
  const { paths, content } = stored(routed!.sessionId, routed!.messageId);
  expect(content.attachments).toEqual([
    { name: 'a.txt', type: 'text/plain', size: 10, path: `inbox/${routed!.messageId}/a.txt` },
  ]);
  expect(readFileSync(join(paths.inbox, routed!.messageId, 'a.txt'), 'utf8')).toBe('held bytes');

  // Replayed again (a follow-up run twice after a crash): the same row, the same files.
  const again = await router.replay(fromStored(held as StoredMessage));
  expect(again).toMatchObject({
    status: 'routed',
    sessions: [{ messageId: routed!.messageId, seq: routed!.seq }],
  });
  expect(readdirSync(paths.inbox)).toEqual([routed!.messageId]);
});
