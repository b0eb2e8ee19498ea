// The schema defends itself: these inserts go around the data-access modules on purpose.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { openCentralDb, type Db } from '../../src/db/connection.ts';
import { centralSchemaTables } from '../harness/central-schema.ts';

const now = '2026-11-23T10:00:00.000Z';
const later = (minutes: number) => new Date(Date.parse(now) + minutes * 60_000).toISOString();

type Row = Record<string, string | number | null>;

function insert(db: Db, table: string, row: Row): void {
  const columns = Object.keys(row);
  db.prepare(
    `INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map((c) => `@${c}`).join(', ')})`,
  ).run(row);
}

/** A migrated database holding one of each parent row the fixtures below point at. */
function seeded(): Db {
  const db = openCentralDb(join(mkdtempSync(join(tmpdir(), 'warren-')), 'warren.db'));
  for (const id of ['ag_a', 'ag_b']) {
    insert(db, 'agent_groups', {
      id,
      name: id,
      folder: id.replace('_', '-'),
      created_at: now,
      updated_at: now,
    });
  }
  insert(db, 'messaging_groups', {
    id: 'mg_1',
    channel_type: 'webchat',
    platform_id: 'chat-1',
    created_at: now,
  });
  insert(db, 'users', { id: 'u_1', created_at: now, updated_at: now });
  insert(db, 'sessions', { id: 'ses_seed', agent_group_id: 'ag_a', thread_id: 'seed', created_at: now });
  return db;
}

// One valid row per table that has a CHECK enum; each test changes one column of it.
const VALID_ROWS: Record<string, Row> = {
  agent_groups: {
    id: 'ag_x',
    name: 'x',
    folder: 'x',
    provider: 'scripted',
    created_at: now,
    updated_at: now,
  },
  messaging_groups: {
    id: 'mg_x',
    channel_type: 'webchat',
    platform_id: 'chat-x',
    unknown_sender_policy: 'strict',
    created_at: now,
  },
  wirings: {
    id: 'wir_x',
    messaging_group_id: 'mg_1',
    agent_group_id: 'ag_a',
    engage_mode: 'mention',
    sender_scope: 'all',
    ignored_message_policy: 'drop',
    session_mode: 'shared',
    created_at: now,
  },
  users: { id: 'u_x', kind: 'person', status: 'active', created_at: now, updated_at: now },
  identity_events: { user_id: 'u_1', event: 'added', actor: 'test', created_at: now },
  user_roles: { user_id: 'u_1', role: 'admin', created_at: now },
  sessions: {
    id: 'ses_x',
    agent_group_id: 'ag_a',
    status: 'active',
    container_status: 'stopped',
    created_at: now,
  },
  agent_destinations: {
    agent_group_id: 'ag_a',
    name: 'home',
    target_kind: 'channel',
    messaging_group_id: 'mg_1',
    created_at: now,
  },
  approvals: {
    id: 'apr_x',
    kind: 'new_sender',
    requested_by: 'u_1',
    payload: '{}',
    payload_hash: 'h',
    rendered_effect: 'let them in',
    status: 'pending',
    expires_at: later(60),
    expiry_action: 'reject',
    created_at: now,
  },
  questions: {
    id: 'q_x',
    session_id: 'ses_seed',
    question: 'ok?',
    options: '[]',
    status: 'pending',
    expires_at: later(60),
    created_at: now,
  },
  dropped_messages: {
    channel_type: 'webchat',
    chat_id: 'chat-1',
    sender_id: 'ana',
    reason: 'no_wiring',
    first_at: now,
    last_at: now,
  },
  delivery_attempts: {
    session_id: 'ses_seed',
    message_out_id: 'msg_1',
    attempt: 1,
    idempotency_key: 'k',
    channel_type: 'webchat',
    status: 'sending',
    error_code: 'transient',
    started_at: now,
  },
  model_usage: {
    agent_group_id: 'ag_a',
    session_id: 'ses_seed',
    provider: 'claude',
    path: '/v1/messages',
    status_code: 200,
    duration_ms: 1,
    created_at: now,
  },
  channel_installations: {
    id: 'ci_x',
    channel_type: 'webchat',
    name: 'main',
    status: 'enabled',
    created_at: now,
    updated_at: now,
  },
};

function enumColumns(): [table: string, column: string][] {
  return centralSchemaTables().flatMap(({ name, sql }) =>
    [...sql.matchAll(/(\w+)\s+IN\s*\(\s*'/g)].map((m): [string, string] => [name, m[1]!]),
  );
}

/** The rows of `table` whose columns hold the values of `row` (its other columns not compared). */
function rowsLike(db: Db, table: string, row: Row): Row[] {
  const columns = Object.keys(row);
  return db
    .prepare(
      `SELECT ${columns.join(', ')} FROM ${table} WHERE ${columns.map((c) => `${c} IS @${c}`).join(' AND ')}`,
    )
    .all(row) as Row[];
}

test('every fixture row used below is valid as it stands', () => {
  const db = seeded();
  for (const [table, row] of Object.entries(VALID_ROWS)) {
    insert(db, table, row);
    expect(rowsLike(db, table, row), table).toEqual([row]);
  }
  db.close();
});

test.each(enumColumns())('%s.%s rejects a value outside its enum', (table, column) => {
  const row = VALID_ROWS[table];
  expect(row, `add a valid ${table} row to VALID_ROWS`).toBeDefined();
  const db = seeded();
  expect(() => insert(db, table, { ...row, [column]: 'not-a-value' })).toThrow(
    new RegExp(`CHECK constraint failed: .*${column} IN \\(`),
  );
  db.close();
});

test('a wiring to an agent group that does not exist is rejected', () => {
  const db = seeded();
  expect(() => insert(db, 'wirings', { ...VALID_ROWS.wirings, agent_group_id: 'ag_missing' })).toThrow(
    /FOREIGN KEY constraint failed/,
  );
  db.close();
});

test('a second chat with the same channel type and platform id is rejected', () => {
  const db = seeded();
  expect(() =>
    insert(db, 'messaging_groups', {
      id: 'mg_2',
      channel_type: 'webchat',
      platform_id: 'chat-1',
      created_at: now,
    }),
  ).toThrow(/UNIQUE constraint failed/);
  db.close();
});

test('the same platform id on another channel type is a different chat', () => {
  const db = seeded();
  insert(db, 'messaging_groups', {
    id: 'mg_2',
    channel_type: 'telegram',
    platform_id: 'chat-1',
    created_at: now,
  });
  expect(
    db
      .prepare("SELECT id, channel_type FROM messaging_groups WHERE platform_id = 'chat-1' ORDER BY id")
      .all(),
  ).toEqual([
    { id: 'mg_1', channel_type: 'webchat' },
    { id: 'mg_2', channel_type: 'telegram' },
  ]);
  db.close();
});

test('two agent groups cannot share a folder', () => {
  const db = seeded();
  expect(() =>
    insert(db, 'agent_groups', { id: 'ag_c', name: 'c', folder: 'ag-a', created_at: now, updated_at: now }),
  ).toThrow(/UNIQUE constraint failed: agent_groups.folder/);
  db.close();
});

test('one platform account cannot belong to two users', () => {
  const db = seeded();
  insert(db, 'users', { id: 'u_2', created_at: now, updated_at: now });
  const identity = { kind: 'telegram', external_id: '123', created_at: now };
  insert(db, 'user_identities', { ...identity, user_id: 'u_1' });
  expect(() => insert(db, 'user_identities', { ...identity, user_id: 'u_2' })).toThrow(
    /UNIQUE constraint failed/,
  );
  db.close();
});

test('a user cannot hold the global admin role twice', () => {
  const db = seeded();
  insert(db, 'user_roles', { user_id: 'u_1', role: 'admin', created_at: now });
  expect(() => insert(db, 'user_roles', { user_id: 'u_1', role: 'admin', created_at: now })).toThrow(
    /UNIQUE constraint failed/,
  );
  db.close();
});

test('a user can be admin of one agent group and a global admin at the same time', () => {
  const db = seeded();
  insert(db, 'user_roles', { user_id: 'u_1', role: 'admin', agent_group_id: 'ag_a', created_at: now });
  insert(db, 'user_roles', { user_id: 'u_1', role: 'admin', created_at: now });
  expect(() =>
    insert(db, 'user_roles', { user_id: 'u_1', role: 'admin', agent_group_id: 'ag_a', created_at: now }),
  ).toThrow(/UNIQUE constraint failed/);
  db.close();
});

test('an owner role scoped to one agent group is rejected', () => {
  const db = seeded();
  expect(() =>
    insert(db, 'user_roles', { user_id: 'u_1', role: 'owner', agent_group_id: 'ag_a', created_at: now }),
  ).toThrow(/CHECK constraint failed/);
  db.close();
});

test('a binding token may live 15 minutes but not longer', () => {
  const db = seeded();
  const token = (hash: string, minutes: number) => ({
    token_hash: hash,
    user_id: 'u_1',
    created_at: now,
    expires_at: later(minutes),
  });
  insert(db, 'binding_tokens', token('h1', 15));
  expect(() => insert(db, 'binding_tokens', token('h2', 15.1))).toThrow(/CHECK constraint failed/);
  expect(() => insert(db, 'binding_tokens', token('h3', 0))).toThrow(/CHECK constraint failed/);
  db.close();
});

test('identity events cannot be changed once written', () => {
  const db = seeded();
  insert(db, 'identity_events', VALID_ROWS.identity_events!);
  expect(() => db.prepare("UPDATE identity_events SET actor = 'someone else'").run()).toThrow(/append-only/);
  db.close();
});

test('audit events cannot be changed once written', () => {
  const db = seeded();
  insert(db, 'audit_events', { actor: 'u_1', action: 'role.granted', created_at: now });
  expect(() => db.prepare("UPDATE audit_events SET actor = 'someone else'").run()).toThrow(/append-only/);
  db.close();
});

test('only one session is active per agent group, chat and thread, even when chat or thread is empty', () => {
  const db = seeded();
  const keys: Row[] = [
    { messaging_group_id: 'mg_1', thread_id: 't1' },
    { messaging_group_id: 'mg_1', thread_id: null },
    { messaging_group_id: null, thread_id: null },
  ];
  keys.forEach((key, i) => {
    const session = (id: string): Row => ({ id, agent_group_id: 'ag_b', ...key, created_at: now });
    insert(db, 'sessions', session(`ses_${i}_first`));
    expect(() => insert(db, 'sessions', session(`ses_${i}_second`))).toThrow(/UNIQUE constraint failed/);
  });
  db.close();
});

test('a closed session does not block a new active one for the same chat', () => {
  const db = seeded();
  const session = { agent_group_id: 'ag_b', messaging_group_id: 'mg_1', created_at: now };
  insert(db, 'sessions', { ...session, id: 'ses_old', status: 'closed', closed_at: now });
  insert(db, 'sessions', { ...session, id: 'ses_new' });
  expect(
    db.prepare("SELECT id, status FROM sessions WHERE agent_group_id = 'ag_b' ORDER BY id").all(),
  ).toEqual([
    { id: 'ses_new', status: 'active' },
    { id: 'ses_old', status: 'closed' },
  ]);
  db.close();
});

test('a user’s daily token budget is a whole number of at least 1, or NULL for no limit', () => {
  const db = seeded();
  const set = (value: unknown) =>
    db.prepare('UPDATE users SET daily_token_budget = ? WHERE id = ?').run(value, 'u_1');
  for (const bad of [0, -1, 1.5, 'lots']) expect(() => set(bad), String(bad)).toThrow(/CHECK constraint/);
  set(1000);
  set(null);
  expect(db.prepare('SELECT daily_token_budget FROM users WHERE id = ?').pluck().get('u_1')).toBeNull();
  db.close();
});
