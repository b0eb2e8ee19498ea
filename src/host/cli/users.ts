// `warren users …`: people, their platform accounts, suspension, merging, binding codes, and their
// data (export, delete). Works on the database whether or not the host runs (docs/access.md).
import { writeFile } from 'node:fs/promises';
import { appendAuditEvent } from '../../db/audit.ts';
import type { Db } from '../../db/connection.ts';
import { tokensUsedByUser } from '../../db/model-usage.ts';
import { listRoles } from '../../db/roles.ts';
import { createBindingCode } from '../../db/tokens.ts';
import { changeUserDailyTokenBudget, getUserDailyTokenBudget } from '../../db/user-budgets.ts';
import { listUserDms } from '../../db/user-dms.ts';
import {
  createUser,
  getUser,
  listIdentities,
  listIdentityEvents,
  listUsers,
  removeIdentity,
  setUserStatus,
  getIdentity,
  type User,
} from '../../db/users.ts';
import {
  deleteUser,
  exportUser,
  linkAccount,
  listUnmappedAccounts,
  mergeUsers,
  userOf,
  type UnmappedAccount,
} from '../access/index.ts';
import type { Config } from '../config.ts';
import { utcDay } from '../gateway/index.ts';
import { withCentralDb } from './central-db.ts';
import { renderTable } from './table.ts';

export interface CommandIo {
  config: Config;
  /** Positionals after the command name: the subcommand and its arguments. */
  args: string[];
  json: boolean;
  /** Include merged users in listings. */
  all: boolean;
  /** export: write the document to this file instead of standard output. */
  out?: string;
  /** delete: confirmed on the command line. */
  yes: boolean;
  /** delete: whether the host answers on its port (it holds web chat buffers in memory). */
  hostRunning: () => Promise<boolean>;
  now: Date;
  /** Who is acting, for the audit trail (`cli:<login>`). */
  actor: string;
  write: (text: string) => void;
  fail: (text: string) => void;
}

export const USERS_HELP = `warren users list [--all] [--json]
warren users show USER [--json]
warren users add NAME                      an invited user (becomes active with a linked account's first message)
warren users suspend USER | activate USER
warren users link USER KIND EXTERNAL_ID    e.g. warren users link u_… telegram 123456
warren users unlink USER KIND EXTERNAL_ID
warren users merge FROM_USER INTO_USER     FROM's accounts, roles, memberships and DMs move to INTO
warren users bind-code USER                a one-time code; the person sends "/link CODE" from another account
warren users budget USER [N | none] [--json]
                                           tokens per UTC day the model gateway allows for calls answering
                                           USER, in every agent group (none: no limit); without N, shows it
warren users unmapped [--json]             accounts that spoke but belong to no person you know, with the
                                           command that maps each one
warren users export USER [--out FILE]      everything held about USER, as one JSON document
warren users delete USER --yes             deletes it; prints what was removed, per table
USER is a user id (u_…) or one of their accounts as KIND:EXTERNAL_ID (e.g. webchat:alice).

An unmapped account is one whose user the router made on its first message (an account nobody had
linked) and that is still alone: that account and no other, no owner or admin role (memberships do
not count), active, not merged. Merging it into the person behind it (warren users merge THIS_USER
PERSON) maps it; so do linking another account to it, making it owner or admin, or suspending it.
A likely person is a known user with the same name.
`;

export function runUsersCommand(io: CommandIo): Promise<number> {
  const [sub, ...rest] = io.args;
  return withCentralDb({ name: 'users', sub, usage: USERS_HELP }, io, (db) => dispatch(db, sub, rest, io));
}

type Subcommand = (db: Db, rest: string[], io: CommandIo) => number | Promise<number>;

/** Each subcommand: how many words it needs after its name, and what it does. */
const SUBCOMMANDS: Record<string, { needs: number; run: Subcommand }> = {
  list: { needs: 0, run: listCommand },
  show: { needs: 1, run: showCommand },
  add: { needs: 1, run: addCommand },
  suspend: { needs: 1, run: (db, rest, io) => statusCommand(db, rest[0]!, io, 'suspended') },
  activate: { needs: 1, run: (db, rest, io) => statusCommand(db, rest[0]!, io, 'active') },
  link: { needs: 3, run: linkCommand },
  unlink: { needs: 3, run: unlinkCommand },
  merge: { needs: 2, run: mergeCommand },
  'bind-code': { needs: 1, run: bindCodeCommand },
  budget: { needs: 1, run: budgetCommand },
  unmapped: { needs: 0, run: unmappedCommand },
  export: { needs: 1, run: exportCommand },
  delete: { needs: 1, run: deleteCommand },
};

function dispatch(db: Db, sub: string | undefined, rest: string[], io: CommandIo): number | Promise<number> {
  const name = sub ?? 'list';
  const subcommand = Object.hasOwn(SUBCOMMANDS, name) ? SUBCOMMANDS[name] : undefined;
  if (!subcommand) {
    io.fail(`warren users: unknown subcommand "${sub}"\n\n${USERS_HELP}`);
    return 2;
  }
  if (rest.length < subcommand.needs) {
    io.fail(`warren users ${sub}: missing arguments\n\n${USERS_HELP}`);
    return 2;
  }
  return subcommand.run(db, rest, io);
}

function listCommand(db: Db, _rest: string[], io: CommandIo): number {
  const users = listUsers(db, { includeMerged: io.all });
  if (io.json) return out(io, users);
  const rows = users.map((u) => [
    u.id,
    u.mergedInto ? `merged into ${u.mergedInto}` : u.status,
    u.displayName ?? '',
    listIdentities(db, u.id)
      .map((i) => `${i.kind}:${i.externalId}`)
      .join(' '),
    listRoles(db, u.id)
      .map((r) => (r.agentGroupId ? `${r.role}@${r.agentGroupId}` : r.role))
      .join(' '),
  ]);
  io.write(rows.length ? renderTable(['USER', 'STATUS', 'NAME', 'ACCOUNTS', 'ROLES'], rows) : 'no users\n');
  return 0;
}

function showCommand(db: Db, [ref]: string[], io: CommandIo): number {
  const user = resolveUser(db, ref!);
  const detail = {
    user,
    accounts: listIdentities(db, user.id),
    roles: listRoles(db, user.id),
    memberships: db
      .prepare('SELECT agent_group_id FROM agent_group_members WHERE user_id = ? ORDER BY created_at')
      .pluck()
      .all(user.id) as string[],
    directChats: listUserDms(db, user.id),
    dailyTokenBudget: getUserDailyTokenBudget(db, user.id),
    events: listIdentityEvents(db, user.id),
  };
  return io.json ? out(io, detail) : (io.write(describe(detail)), 0);
}

function addCommand(db: Db, words: string[], io: CommandIo): number {
  const now = io.now.toISOString();
  const user = createUser(db, { displayName: words.join(' '), status: 'invited' }, now, io.actor);
  audit(db, io, 'user.added', user.id, {});
  io.write(`${user.id}  invited  ${user.displayName}\n`);
  return 0;
}

function statusCommand(db: Db, ref: string, io: CommandIo, status: 'suspended' | 'active'): number {
  const user = resolveUser(db, ref);
  if (user.mergedInto) throw new Error(`${user.id} was merged into ${user.mergedInto}; change that user`);
  if (!setUserStatus(db, user.id, status, io.actor, io.now.toISOString())) {
    io.write(`${user.id} is already ${status}\n`);
    return 0;
  }
  audit(db, io, status === 'suspended' ? 'user.suspended' : 'user.activated', user.id, { status });
  io.write(
    status === 'suspended'
      ? `${user.id} suspended: no agent answers them; their cards and API tokens stop working\n`
      : `${user.id} active\n`,
  );
  return 0;
}

function linkCommand(db: Db, [ref, kind, externalId]: string[], io: CommandIo): number {
  const user = resolveUser(db, ref!);
  const account = { kind: kind!, externalId: externalId! };
  const outcome = linkAccount(db, user.id, account, { actor: io.actor, now: io.now.toISOString() });
  if (outcome.status === 'already_linked') {
    io.write(`${account.kind}:${account.externalId} already belongs to ${user.id}\n`);
    return 0;
  }
  audit(db, io, 'identity.linked', user.id, account);
  io.write(`${account.kind}:${account.externalId} linked to ${user.id}\n`);
  return 0;
}

function unlinkCommand(db: Db, [ref, kind, externalId]: string[], io: CommandIo): number {
  const user = resolveUser(db, ref!);
  if (getIdentity(db, kind!, externalId!)?.userId !== user.id)
    throw new Error(`${kind}:${externalId} is not one of ${user.id}'s accounts`);
  removeIdentity(db, kind!, externalId!, io.actor, io.now.toISOString());
  audit(db, io, 'identity.unlinked', user.id, { kind: kind!, externalId: externalId! });
  io.write(`${kind}:${externalId} unlinked from ${user.id}; its next message is a first contact\n`);
  return 0;
}

function mergeCommand(db: Db, [fromRef, intoRef]: string[], io: CommandIo): number {
  const from = resolveUser(db, fromRef!);
  const into = resolveUser(db, intoRef!);
  const report = mergeUsers(db, from.id, into.id, io.actor, io.now.toISOString());
  if (io.json) return out(io, report);
  io.write(
    `${from.id} merged into ${into.id}: ${report.identities.length} account(s), ` +
      `${report.rolesAdded.length} role(s), ${report.membershipsAdded.length} membership(s), ` +
      `${report.dmsMoved.length} direct chat(s) moved; ${into.id} is ${report.status}\n`,
  );
  return 0;
}

function bindCodeCommand(db: Db, [ref]: string[], io: CommandIo): number {
  const user = resolveUser(db, ref!);
  if (user.mergedInto || user.status === 'suspended')
    throw new Error(`${user.id} is ${user.mergedInto ? 'merged' : 'suspended'}; no code issued`);
  const ttl = io.config.access.bindingCodeTtlMs;
  const { code, expiresAt } = createBindingCode(db, user.id, io.now.toISOString(), ttl);
  audit(db, io, 'binding_code.issued', user.id, { expiresAt });
  io.write(
    `${code}\nvalid once until ${expiresAt}: the person sends "/link ${code}" to the bot from the account to link\n`,
  );
  return 0;
}

const NO_BUDGET = 'none';

function budgetCommand(db: Db, rest: string[], io: CommandIo): number {
  const [ref, raw, ...extra] = rest;
  if (extra.length > 0) return usageError(io, 'budget', `unexpected "${extra.join(' ')}"`);
  const budget = raw === undefined ? undefined : parseBudget(raw);
  if (budget === 'invalid')
    return usageError(
      io,
      'budget',
      `"${raw}" is not a budget: give a whole number of tokens per UTC day (at least 1), or ${NO_BUDGET} to remove it`,
    );
  const user = resolveUser(db, ref!);
  if (user.mergedInto) throw new Error(`${user.id} was merged into ${user.mergedInto}; change that user`);
  const change =
    budget === undefined
      ? undefined
      : changeUserDailyTokenBudget(db, user.id, budget, io.actor, io.now.toISOString());
  const day = utcDay(io.now);
  const view = {
    userId: user.id,
    displayName: user.displayName,
    dailyTokenBudget: change ? change.after : getUserDailyTokenBudget(db, user.id),
    usedToday: tokensUsedByUser(db, user.id, day.start, day.end),
    resetsAt: day.end,
  };
  if (io.json) return out(io, view);
  const who = user.displayName ? `${user.id} (${user.displayName})` : user.id;
  const was = change && change.before !== change.after ? ` (was: ${budgetText(change.before)})` : '';
  io.write(
    `${who}: ${budgetText(view.dailyTokenBudget)}${was}; ${view.usedToday} used today, resets at ${view.resetsAt}\n`,
  );
  return 0;
}

const budgetText = (n: number | null) => (n === null ? 'no daily token budget' : `${n} tokens per UTC day`);

/** A budget from the command line: a positive whole number, `none` (null) or invalid. */
function parseBudget(raw: string): number | null | 'invalid' {
  if (raw.trim().toLowerCase() === NO_BUDGET) return null;
  if (!/^\d+$/.test(raw.trim())) return 'invalid';
  const n = Number(raw.trim());
  return n >= 1 && Number.isSafeInteger(n) ? n : 'invalid';
}

function unmappedCommand(db: Db, rest: string[], io: CommandIo): number {
  if (rest.length > 0) return usageError(io, 'unmapped', `unexpected "${rest.join(' ')}"`);
  const accounts = listUnmappedAccounts(db);
  if (io.json) return out(io, accounts);
  if (accounts.length === 0) {
    io.write('no unmapped accounts: every account that spoke belongs to a person you know\n');
    return 0;
  }
  io.write(`${accounts.map(describeUnmapped).join('\n')}\n${accounts.length} unmapped account(s)\n`);
  return 0;
}

function describeUnmapped(a: UnmappedAccount): string {
  // A platform's name is the sender's to choose: quoted and escaped, it cannot drive the terminal.
  const name = a.displayName ? `  ${JSON.stringify(a.displayName)}` : '';
  const bot = a.userKind === 'bot' ? '  (a bot)' : '';
  const dropped = a.droppedMessages > 0 ? `, ${a.droppedMessages} dropped message(s)` : '';
  const member = a.memberOf.length > 0 ? `, member of ${a.memberOf.join(', ')}` : '';
  const likely = a.likelyPeople.map((p) => `${p.displayName} (${p.userId})`).join(', ');
  const hint =
    a.likelyPeople.length === 1
      ? `likely ${likely}`
      : a.likelyPeople.length > 1
        ? `same name as ${likely}: pick one as USER`
        : 'USER: the person it belongs to (a user id or one of their accounts)';
  return [
    `${a.account}${name}${bot}  user ${a.userId}`,
    `  first seen ${a.firstSeenAt}, last seen ${a.lastSeenAt}${dropped}${member}`,
    `  ${hint}`,
    `  ${a.command}`,
  ].join('\n');
}

/** Bad words on the command line: said, with the usage, exit 2; nothing has changed. */
function usageError(io: CommandIo, sub: string, problem: string): number {
  io.fail(`warren users ${sub}: ${problem}\n\n${USERS_HELP}`);
  return 2;
}

async function exportCommand(db: Db, [ref]: string[], io: CommandIo): Promise<number> {
  const user = resolveUser(db, ref!);
  const doc = exportUser(db, io.config.dataDir, user.id, io.actor, io.now.toISOString(), {
    groupsDir: io.config.groupsDir,
  });
  const text = `${JSON.stringify(doc, null, 2)}\n`;
  if (io.out) {
    await writeFile(io.out, text, { mode: 0o600 });
    io.write(`wrote ${io.out}\n`);
  } else io.write(text);
  for (const s of doc.unreadableSessions)
    io.fail(`warning: session ${s.sessionId} could not be read: ${s.error}\n`);
  return doc.unreadableSessions.length > 0 ? 1 : 0;
}

async function deleteCommand(db: Db, [ref]: string[], io: CommandIo): Promise<number> {
  const user = resolveUser(db, ref!);
  if (!io.yes) {
    io.fail(
      `warren users delete: this removes everything held about ${user.id} for good; ` +
        'export it first if needed, then run again with --yes\n',
    );
    return 2;
  }
  const result = await deleteUser(
    db,
    io.config.dataDir,
    user.id,
    io.actor,
    io.now.toISOString(),
    io.hostRunning,
    {
      groupsDir: io.config.groupsDir,
    },
  );
  if (io.json) return out(io, result);
  const rows = Object.entries(result.counts).map(([table, n]) => [table, String(n)]);
  io.write(`deleted ${user.id}\n${renderTable(['TABLE', 'ROWS'], rows)}`);
  if (result.reported.length > 0) {
    io.write(
      `\nleft as they are; they may still hold this user's words (check or remove by hand):\n` +
        result.reported.map((e) => `  ${e.store.padEnd(14)} ${e.path}\n`).join('') +
        (result.truncated ? '  … (listing stopped at its bound; there may be more)\n' : ''),
    );
  }
  return 0;
}

/** A user id, or an account `KIND:EXTERNAL_ID`. */
export function resolveUser(db: Db, ref: string): User {
  const byId = getUser(db, ref);
  if (byId) return byId;
  const colon = ref.indexOf(':');
  const byAccount =
    colon > 0 ? userOf(db, { kind: ref.slice(0, colon), externalId: ref.slice(colon + 1) }) : undefined;
  if (!byAccount) throw new Error(`no user ${ref} (give a user id or KIND:EXTERNAL_ID; warren users list)`);
  return byAccount;
}

function audit(
  db: Db,
  io: CommandIo,
  action: string,
  userId: string,
  detail: Record<string, string | number | null>,
): void {
  appendAuditEvent(
    db,
    { actor: io.actor, action, targetKind: 'user', targetId: userId, detail },
    io.now.toISOString(),
  );
}

function out(io: CommandIo, value: unknown): number {
  io.write(`${JSON.stringify(value, null, 2)}\n`);
  return 0;
}

function describe(d: {
  user: User;
  accounts: ReturnType<typeof listIdentities>;
  roles: ReturnType<typeof listRoles>;
  memberships: string[];
  directChats: ReturnType<typeof listUserDms>;
  dailyTokenBudget: number | null;
  events: ReturnType<typeof listIdentityEvents>;
}): string {
  const u = d.user;
  const lines = [
    `user        ${u.id}${u.displayName ? ` (${u.displayName})` : ''}`,
    `status      ${u.mergedInto ? `merged into ${u.mergedInto}` : u.status}`,
    `accounts    ${d.accounts.map((a) => `${a.kind}:${a.externalId}`).join(', ') || '-'}`,
    `roles       ${d.roles.map((r) => (r.agentGroupId ? `${r.role} of ${r.agentGroupId}` : r.role)).join(', ') || '-'}`,
    `member of   ${d.memberships.join(', ') || '-'}`,
    `DMs         ${d.directChats.map((c) => `${c.channelType}:${c.messagingGroupId}`).join(', ') || '-'}`,
    `budget      ${budgetText(d.dailyTokenBudget)}`,
    '',
    'history:',
    ...d.events.map(
      (e) =>
        `  ${e.createdAt}  ${e.event.padEnd(14)}  by ${e.actor}  ${JSON.stringify(e.before)} → ${JSON.stringify(e.after)}`,
    ),
  ];
  return `${lines.join('\n')}\n`;
}
