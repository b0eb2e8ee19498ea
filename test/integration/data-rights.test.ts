// Export and deletion of everything held about one user (src/host/access/data-rights.ts), with two
// users seeded across the central database and the session files, through the real `warren` command.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { beforeEach, expect, test } from 'vitest';
import {
  closeRunnerSession,
  finishTurn,
  openRunnerSession,
} from '../../container/agent-runner/src/db/session.ts';
import { getAgentGroupByFolder } from '../../src/db/agent-groups.ts';
import { answerQuestion, createApproval, createQuestion, decideApproval } from '../../src/db/approvals.ts';
import { appendAuditEvent, listAuditEvents } from '../../src/db/audit.ts';
import { openCentralDb, type Db } from '../../src/db/connection.ts';
import { recordDroppedMessage } from '../../src/db/dropped-messages.ts';
import { holdMessage } from '../../src/db/held-messages.ts';
import { findOrCreateMessagingGroup } from '../../src/db/messaging-groups.ts';
import { addMember, grantRole } from '../../src/db/roles.ts';
import { createSession } from '../../src/db/sessions.ts';
import { createApiToken, createBindingCode } from '../../src/db/tokens.ts';
import { createLoginLink, signInBrowser } from '../../src/db/web-sign-in.ts';
import { setUserDm } from '../../src/db/user-dms.ts';
import { createAgentGroup } from '../../src/db/agent-groups.ts';
import { userForAccount, type UserExport } from '../../src/host/access/index.ts';
import { eventsDirOf, eventsFileOf } from '../../src/host/channels/adapters/webchat/index.ts';
import {
  createSessionFiles,
  insertMessagesIn,
  LOCK_FILE,
  lockSession,
  recordDelivered,
  sessionPaths,
  type SessionPaths,
} from '../../src/host/sessions/index.ts';

const run = promisify(execFile);
const now = '2026-11-23T10:00:00.000Z';

let root: string;
let dataDir: string;
beforeEach(async () => {
  root = mkdtempSync(join(tmpdir(), 'warren-rights-'));
  dataDir = join(root, 'data');
  const init = await warren(['init', '--groups-dir', join(root, 'groups')]);
  expect(init.code).toBe(0);
});

async function warren(args: string[], port = '1'): Promise<{ code: number; stdout: string; stderr: string }> {
  return run(process.execPath, ['bin/warren.js', ...args, '--data-dir', dataDir], {
    env: { ...process.env, WARREN_PORT: port },
    maxBuffer: 16 << 20,
  }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (err: { code: number; stdout: string; stderr: string }) => err,
  );
}

interface Seeded {
  ana: string;
  bo: string;
  shared: SessionPaths;
  anaOnly: SessionPaths;
}

/** Ana and Bo, each with accounts, roles, DMs, approvals, drops, audit rows and chat messages. */
function seed(db: Db): Seeded {
  const main = getAgentGroupByFolder(db, 'main')!;
  const other = createAgentGroup(db, { name: 'Other', folder: 'other' }, now);
  const ana = userForAccount(db, { kind: 'webchat', externalId: 'ana', name: 'Ana' }, now).id;
  const bo = userForAccount(db, { kind: 'webchat', externalId: 'bo', name: 'Bo' }, now).id;
  // A user merged into Ana is Ana too.
  const anaOld = userForAccount(db, { kind: 'telegram', externalId: '77', name: 'Ana old' }, now).id;
  db.prepare('UPDATE users SET merged_into = ? WHERE id = ?').run(ana, anaOld);
  for (const user of [ana, bo]) {
    grantRole(db, { userId: user, role: 'admin', agentGroupId: main.id }, 'cli:op', now);
    addMember(db, user, other.id, 'cli:op', now);
    createApiToken(db, user, 'laptop', now);
    createBindingCode(db, user, now);
    createLoginLink(db, user, 'cli:op', now, 600_000);
    signInBrowser(db, user, now);
    recordDroppedMessage(
      db,
      {
        channelType: 'webchat',
        chatId: 'x',
        senderId: user === ana ? 'ana' : 'bo',
        reason: 'unknown_sender',
      },
      now,
    );
    appendAuditEvent(
      db,
      { actor: 'cli:op', action: 'role.granted', targetKind: 'user', targetId: user },
      now,
    );
  }
  const group = findOrCreateMessagingGroup(
    db,
    { channelType: 'webchat', platformId: 'team', isGroup: true },
    now,
  ).messagingGroup;
  for (const [user, dm] of [
    [ana, 'ana-dm'],
    [bo, 'bo-dm'],
  ] as const) {
    setUserDm(
      db,
      user,
      findOrCreateMessagingGroup(db, { channelType: 'webchat', platformId: dm }, now).messagingGroup.id,
      now,
    );
  }
  const request = (by: string) =>
    createApproval(
      db,
      {
        kind: 'new_sender',
        agentGroupId: main.id,
        requestedBy: by,
        payload: { userId: by },
        renderedEffect: 'let them in',
        expiresAt: '2026-11-24T10:00:00.000Z',
      },
      now,
    );
  const anaRequest = request(ana);
  holdMessage(db, anaRequest.id, 'held-1', { text: 'ana waiting' }, now);
  const boRequest = request(bo);
  decideApproval(db, boRequest.id, 'approved', ana, now);

  const sharedSession = createSession(
    db,
    { agentGroupId: main.id, messagingGroupId: group.id, threadId: null },
    now,
  );
  const anaSession = createSession(
    db,
    { agentGroupId: other.id, messagingGroupId: null, threadId: null },
    now,
  );
  const shared = sessionPaths(dataDir, main.id, sharedSession.id);
  const anaOnly = sessionPaths(dataDir, other.id, anaSession.id);
  createSessionFiles(shared);
  createSessionFiles(anaOnly);
  converse(shared, 'team', [
    ['in_a1', ana, 'webchat:ana', 'ana: my address is 1 Main St'],
    ['in_b1', bo, 'webchat:bo', 'bo: hello'],
    ['in_a2', anaOld, 'telegram:77', 'ana from the phone'],
  ]);
  converse(anaOnly, 'ana-dm', [['in_a3', undefined, 'webchat:ana', 'ana, before the user id was recorded']]);
  // What the web chat channel kept to replay each chat (it keeps only what it sent to the chat).
  const reply = (paths: SessionPaths, id: string) => `${paths.sessionId}:out_${id}`;
  buffer('team', [
    ['message', reply(shared, 'in_a1'), { inReplyTo: 'p_in_a1', text: 're: 1 Main St, noted' }],
    ['message', reply(shared, 'in_b1'), { inReplyTo: 'p_in_b1', text: 're: bo: hello' }],
    ['edit', 'edit-a1', { targetId: reply(shared, 'in_a1'), text: 're: 1 Main St, noted twice' }],
    ['react', 'react-a2', { targetId: 'p_in_a2', emoji: 'thumbs_up' }],
    ['message', 'daily-news', { inReplyTo: null, text: 'news for everyone' }],
  ]);
  buffer('ana-dm', [
    ['message', reply(anaOnly, 'in_a3'), { inReplyTo: 'p_in_a3', text: 're: ana, before' }],
    ['message', 'reminder-ana', { inReplyTo: null, text: 'ana, your reminder' }],
  ]);
  buffer('bo-dm', [['message', 'reminder-bo', { inReplyTo: null, text: 'bo, your reminder' }]]);
  mkdirSync(join(shared.inbox, 'in_a1'), { recursive: true });
  writeFileSync(join(shared.inbox, 'in_a1', 'passport.png'), 'bytes');

  createQuestion(
    db,
    {
      id: 'q1',
      sessionId: sharedSession.id,
      question: 'Lunch?',
      options: [{ label: 'yes', value: 'yes' }],
      expiresAt: '2026-11-24T10:00:00.000Z',
    },
    now,
  );
  answerQuestion(db, 'q1', 'yes', ana, now);
  return { ana, bo, shared, anaOnly };
}

/** Each message in (from web chat `chat`, platform id `p_<id>`), and the agent's reply to it out (acked and delivered). */
function converse(
  paths: SessionPaths,
  chat: string,
  messages: [string, string | undefined, string, string][],
): void {
  insertMessagesIn(
    paths,
    messages.map(([id, userId, sender, text]) => ({
      id,
      kind: 'chat' as const,
      timestamp: now,
      channelType: 'webchat',
      platformId: chat,
      content: {
        text,
        sender: { id: sender, ...(userId ? { userId } : {}) },
        platformMessageId: `p_${id}`,
      },
    })),
  );
  const runner = openRunnerSession({
    sessionId: paths.sessionId,
    inboundPath: paths.inbound,
    outboundPath: paths.outbound,
  });
  const written = finishTurn(runner, {
    replies: messages.map(([id, , , text]) => ({
      id: `out_${id}`,
      kind: 'chat' as const,
      operation: { op: 'send' as const, text: `re: ${text}`, files: [] },
      timestamp: now,
      inReplyTo: id,
    })),
    ackIds: messages.map(([id]) => id),
    status: 'completed',
    now,
  });
  closeRunnerSession(runner);
  for (const w of written)
    recordDelivered(paths, {
      messageOutId: w.id,
      platformMessageId: `p_${w.id}`,
      status: 'delivered',
      deliveredAt: now,
    });
}

/** A web chat buffer file as the channel writes it: one `{ id, text }` line per event frame. */
function buffer(chat: string, events: [string, string, Record<string, unknown>][]): void {
  const dir = eventsDirOf(join(dataDir, 'files', 'webchat'));
  mkdirSync(dir, { recursive: true });
  const lines = events.map(([event, id, data]) => {
    const text = `event: ${event}\nid: ${id}\ndata: ${JSON.stringify({ id, ...data })}\n\n`;
    return `${JSON.stringify({ id, text })}\n`;
  });
  writeFileSync(bufferFile(chat), lines.join(''));
}

const bufferFile = (chat: string) => eventsFileOf(eventsDirOf(join(dataDir, 'files', 'webchat')), chat);

const exportOf = async (user: string): Promise<UserExport> => {
  const result = await warren(['users', 'export', user]);
  expect(result.stderr).not.toMatch(/warning/);
  return JSON.parse(result.stdout) as UserExport;
};

const heldRows = (doc: UserExport) =>
  Object.entries(doc.central).flatMap(([table, rows]) =>
    rows.length > 0 ? [`${table}:${rows.length}`] : [],
  );

test('export finds every central row and session message of a user, and nothing of anyone else', async () => {
  const db = openCentralDb(join(dataDir, 'warren.db'));
  const { ana, bo } = seed(db);
  db.close();

  const doc = await exportOf(ana);
  expect(doc).toMatchObject({ format: 'warren.user-export/1', userId: ana, unreadableSessions: [] });
  expect(doc.central.users!.map((u) => u.id).sort()).toEqual(
    [ana, (doc.central.users!.find((u) => u.merged_into === ana) as { id: string }).id].sort(),
  );
  expect(heldRows(doc).sort()).toEqual(
    [
      'agent_group_members:1',
      'api_tokens:1',
      'approval_held_messages:1',
      'approvals_decided:1',
      'approvals_requested:1',
      'audit_events:1',
      'binding_tokens:1',
      'dropped_messages:1',
      'identity_events:6',
      'login_links:1',
      'questions_answered:1',
      'user_dms:1',
      'user_identities:2',
      'user_roles:1',
      'users:2',
      'web_browsers:1',
    ].sort(),
  );
  expect(JSON.stringify(doc)).not.toMatch(/token_hash|link_hash|cookie_hash/);
  const texts = doc.sessions.flatMap((s) => s.messagesIn.map((m) => JSON.parse(m.content as string).text));
  expect(texts.sort()).toEqual(
    ['ana: my address is 1 Main St', 'ana from the phone', 'ana, before the user id was recorded'].sort(),
  );
  expect(doc.sessions.flatMap((s) => s.messagesOut.map((m) => m.in_reply_to)).sort()).toEqual(
    ['in_a1', 'in_a2', 'in_a3'].sort(),
  );
  expect(JSON.stringify(doc)).not.toMatch(/bo: hello/);
  expect(doc.central.approvals_requested!.every((a) => a.requested_by === ana)).toBe(true);
  expect(doc.central.dropped_messages).toMatchObject([{ sender_id: 'ana' }]);
  expect(bo).not.toBe(ana);
});

test('export → delete → export leaves nothing of the user, and every row of the other user stays', async () => {
  const db = openCentralDb(join(dataDir, 'warren.db'));
  const { ana, bo, shared, anaOnly } = seed(db);
  db.close();
  const boBefore = await exportOf(bo);
  await exportOf(ana);

  const refused = await warren(['users', 'delete', ana]);
  expect(refused.code).toBe(2);
  expect(refused.stderr).toMatch(/--yes/);

  // A session holding her messages whose runner is alive: refused before anything changes.
  const setStatus = (status: string) => {
    const d = openCentralDb(join(dataDir, 'warren.db'));
    d.prepare('UPDATE sessions SET container_status = ? WHERE id = ?').run(status, shared.sessionId);
    d.close();
  };
  setStatus('running');
  const busy = await warren(['users', 'delete', ana, '--yes']);
  expect(busy).toMatchObject({
    code: 1,
    stderr: expect.stringMatching(/container is running.*Nothing was deleted/),
  });
  expect((await exportOf(ana)).sessions).toHaveLength(2);
  setStatus('stopped');

  const deleted = await warren(['users', 'delete', ana, '--yes', '--json']);
  expect(deleted.code).toBe(0);
  const { counts } = JSON.parse(deleted.stdout) as { counts: Record<string, number> };
  expect(counts).toMatchObject({
    users: 2,
    user_identities: 2,
    user_roles: 1,
    agent_group_members: 1,
    user_dms: 1,
    api_tokens: 1,
    binding_tokens: 1,
    approvals_requested: 1,
    approval_held_messages: 1,
    approvals_decided: 1,
    questions_answered: 1,
    dropped_messages: 1,
    'session_files.messages_in': 3,
    'session_files.messages_out': 3,
    'session_files.processing_ack': 3,
    'session_files.delivered': 3,
    delivery_attempts: 0,
    webchat_events: 5,
    cli_events: 0,
  });
  expect(counts.audit_events).toBeGreaterThanOrEqual(2); // the grant and the export about her
  expect(existsSync(join(shared.inbox, 'in_a1'))).toBe(false);

  const db2 = openCentralDb(join(dataDir, 'warren.db'));
  expect(db2.prepare('SELECT count(*) FROM users WHERE id = ?').pluck().get(ana)).toBe(0);
  // The trail of the deletion names no one: counts and the id's hash only.
  const [audit] = listAuditEvents(db2, { limit: 1 });
  expect(audit).toMatchObject({ action: 'user.deleted', targetKind: 'user', targetId: null });
  expect(JSON.stringify(audit)).not.toContain(ana);
  expect(audit!.payloadHash).toMatch(/^[0-9a-f]{64}$/);
  db2.close();

  // Nothing anywhere still names her: every central row, every session row.
  const db3 = openCentralDb(join(dataDir, 'warren.db'));
  const tables = db3.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all() as string[];
  const central = tables.flatMap((t) => db3.prepare(`SELECT * FROM ${t}`).all());
  db3.close();
  expect(JSON.stringify(central)).not.toContain(ana);
  expect(JSON.stringify(central)).not.toMatch(/"ana"|Ana|telegram:77|"77"/);
  for (const paths of [shared, anaOnly]) {
    const rows = [paths.inbound, paths.outbound].flatMap((file) => {
      const session = new Database(file, { readonly: true });
      const found = ['messages_in', 'messages_out']
        .filter((t) => session.prepare('SELECT 1 FROM sqlite_master WHERE name = ?').get(t))
        .flatMap((t) => session.prepare(`SELECT * FROM ${t}`).all());
      session.close();
      return found;
    });
    expect(JSON.stringify(rows)).not.toMatch(/ana/i);
  }

  const after = await warren(['users', 'export', ana]);
  expect(after.code).toBe(1);
  expect(after.stderr).toMatch(/no user/);

  // Bo is untouched, apart from the record of his own export and who decided his request.
  const boAfter = await exportOf(bo);
  const withoutExports = (doc: UserExport) => ({
    ...doc.central,
    audit_events: doc.central.audit_events!.filter((e) => e.action !== 'user.exported'),
    approvals_requested: doc.central.approvals_requested!.map((a) => ({ ...a, decided_by: undefined })),
  });
  expect(withoutExports(boAfter)).toEqual(withoutExports(boBefore));
  expect(boAfter.sessions).toEqual(boBefore.sessions);
  expect(boAfter.sessions[0]!.messagesIn).toHaveLength(1);
  // The approval Bo asked for keeps its decision; only who decided it is forgotten.
  expect(boAfter.central.approvals_requested).toMatchObject([
    { status: 'approved', decided_by: 'deleted-user' },
  ]);
  expect(existsSync(anaOnly.inbound)).toBe(true);
});

test('an export of a user that holds nothing in the session files has no sessions', async () => {
  const db = openCentralDb(join(dataDir, 'warren.db'));
  const carl = userForAccount(db, { kind: 'webchat', externalId: 'carl' }, now).id;
  db.close();
  const doc = await exportOf('webchat:carl');
  expect(doc.userId).toBe(carl);
  expect(doc.sessions).toEqual([]);
});

const idsOf = (doc: UserExport) =>
  Object.fromEntries(doc.webchatEvents.map((c) => [c.chatId, c.events.map((e) => e.id)]));

const bufferedLines = (chat: string) =>
  readFileSync(bufferFile(chat), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => (JSON.parse(line) as { id: string }).id);

test('export holds the web chat events of the chats a user wrote in, and none of anyone else', async () => {
  const db = openCentralDb(join(dataDir, 'warren.db'));
  const { ana, bo, shared, anaOnly } = seed(db);
  db.close();

  const doc = await exportOf(ana);
  // The shared chat: replies to her messages, the edit of one, the reaction to one. Her own chat: all of it.
  expect(idsOf(doc)).toEqual({
    team: [`${shared.sessionId}:out_in_a1`, 'edit-a1', 'react-a2'],
    'ana-dm': [`${anaOnly.sessionId}:out_in_a3`, 'reminder-ana'],
  });
  expect(doc.webchatEvents.map((c) => [c.channel, c.chatId, c.wholeChat])).toEqual([
    ['webchat', 'ana-dm', true],
    ['webchat', 'team', false],
  ]);
  expect(doc.webchatEvents[1]!.events[0]).toMatchObject({
    event: 'message',
    data: { inReplyTo: 'p_in_a1', text: 're: 1 Main St, noted' },
  });
  expect(JSON.stringify(doc.webchatEvents)).not.toMatch(/bo: hello|bo, your reminder|news for everyone/);
  expect(idsOf(await exportOf(bo))).toEqual({
    team: [`${shared.sessionId}:out_in_b1`],
    'bo-dm': ['reminder-bo'],
  });
});

test('delete removes the web chat events of a user, prints their count, and leaves the other buffers byte for byte', async () => {
  const db = openCentralDb(join(dataDir, 'warren.db'));
  const { ana, bo, shared } = seed(db);
  db.close();
  const boDm = readFileSync(bufferFile('bo-dm'));

  const deleted = await warren(['users', 'delete', ana, '--yes']);
  expect(deleted.code).toBe(0);
  expect(deleted.stdout).toMatch(/^webchat_events +5$/m);

  expect(existsSync(bufferFile('ana-dm'))).toBe(false);
  expect(bufferedLines('team')).toEqual([`${shared.sessionId}:out_in_b1`, 'daily-news']);
  expect(readFileSync(bufferFile('team'), 'utf8')).not.toMatch(/Main St|ana/);
  expect(readFileSync(bufferFile('bo-dm'))).toEqual(boDm);
  // No buffer anywhere still holds a reply to her.
  const boAfter = await exportOf(bo);
  expect(JSON.stringify(boAfter.webchatEvents)).not.toMatch(/Main St|ana|in_a/);
  expect(idsOf(boAfter).team).toContain(`${shared.sessionId}:out_in_b1`);
});

test('delete is refused while the host runs when web chat buffers hold the user’s events', async () => {
  const db = openCentralDb(join(dataDir, 'warren.db'));
  const { ana } = seed(db);
  db.close();
  const team = readFileSync(bufferFile('team'));
  const host = createServer((_req, res) => res.end('a host'));
  await new Promise<void>((resolve) => host.listen(0, '127.0.0.1', resolve));
  const port = String((host.address() as AddressInfo).port);
  try {
    const refused = await warren(['users', 'delete', ana, '--yes'], port);
    expect(refused).toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/host is running.*Nothing was deleted/),
    });
    expect(readFileSync(bufferFile('team'))).toEqual(team);
    expect(existsSync(bufferFile('ana-dm'))).toBe(true);
    expect((await exportOf(ana)).webchatEvents).toHaveLength(2);

    // Someone the buffers hold nothing of is deleted all the same.
    const d = openCentralDb(join(dataDir, 'warren.db'));
    const carl = userForAccount(d, { kind: 'webchat', externalId: 'carl' }, now).id;
    d.close();
    expect((await warren(['users', 'delete', carl, '--yes'], port)).code).toBe(0);
  } finally {
    await new Promise((resolve) => host.close(resolve));
  }
});

test('delete is refused, changing nothing, while another command holds one of the user’s sessions', async () => {
  const db = openCentralDb(join(dataDir, 'warren.db'));
  const { ana, shared } = seed(db);
  db.close();
  const release = lockSession(shared.sessionId, shared.root, 'another delete', new Date());
  try {
    const refused = await warren(['users', 'delete', ana, '--yes']);
    expect(refused).toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/is held by another command \(another delete.*Nothing was deleted/),
    });
    expect((await exportOf(ana)).sessions).toHaveLength(2);
  } finally {
    release();
  }
  // Its own locks are gone once it ends, whatever the outcome.
  expect((await warren(['users', 'delete', ana, '--yes'])).code).toBe(0);
  expect(existsSync(join(shared.root, LOCK_FILE))).toBe(false);
});
