// Identities, merging and binding codes on a real central database (src/host/access).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, test } from 'vitest';
import { createAgentGroup } from '../../src/db/agent-groups.ts';
import { listAuditEvents } from '../../src/db/audit.ts';
import { openCentralDb, type Db } from '../../src/db/connection.ts';
import { findOrCreateMessagingGroup, type MessagingGroup } from '../../src/db/messaging-groups.ts';
import { addMember, grantRole, listRoles } from '../../src/db/roles.ts';
import { createBindingCode } from '../../src/db/tokens.ts';
import { getUserDm, setUserDm } from '../../src/db/user-dms.ts';
import {
  createUser,
  getUser,
  IdentityTakenError,
  listIdentities,
  listIdentityEvents,
  setUserStatus,
} from '../../src/db/users.ts';
import {
  applyControl,
  can,
  linkAccount,
  mergeUsers,
  parseControl,
  userForAccount,
  type Account,
  type ControlCommand,
} from '../../src/host/access/index.ts';

const start = '2026-11-23T10:00:00.000Z';
const at = (minutes: number) => new Date(Date.parse(start) + minutes * 60_000);

let db: Db;
beforeEach(() => {
  db = openCentralDb(join(mkdtempSync(join(tmpdir(), 'warren-access-')), 'warren.db'));
  return () => db.close();
});

const chat = (platformId: string, channelType = 'webchat', isGroup = false): MessagingGroup =>
  findOrCreateMessagingGroup(db, { channelType, platformId, isGroup }, start).messagingGroup;
const account = (kind: string, externalId: string, name?: string): Account => ({ kind, externalId, name });

describe('first contact', () => {
  test('an unknown account becomes a new active user with that one account, once', () => {
    const first = userForAccount(db, account('telegram', '123', 'Ana'), start);
    const again = userForAccount(db, account('telegram', '123', 'Ana'), start);
    expect(again.id).toBe(first.id);
    expect(first).toMatchObject({ status: 'active', displayName: 'Ana', mergedInto: null });
    expect(listIdentities(db, first.id)).toMatchObject([{ kind: 'telegram', externalId: '123' }]);
    expect(listIdentityEvents(db, first.id).map((e) => e.event)).toEqual(['created', 'added']);
  });

  test('an invited user becomes active with the first message from one of their accounts', () => {
    const invited = createUser(db, { displayName: 'Bo', status: 'invited' }, start);
    linkAccount(db, invited.id, account('slack', 'U1'), { actor: 'cli:op', now: start });
    expect(can(db, invited.id, { kind: 'message', agentGroupId: 'ag_x' })).toEqual({
      allowed: false,
      reason: 'user_not_active',
    });
    expect(userForAccount(db, account('slack', 'U1'), start)).toMatchObject({
      id: invited.id,
      status: 'active',
    });
  });
});

describe('linking accounts', () => {
  test('an account of someone else is not taken without proof', () => {
    const ana = userForAccount(db, account('telegram', '1'), start);
    const bo = userForAccount(db, account('telegram', '2'), start);
    expect(() => linkAccount(db, bo.id, account('telegram', '1'), { actor: 'cli:op', now: start })).toThrow(
      IdentityTakenError,
    );
    expect(listIdentities(db, ana.id)).toHaveLength(1);
  });
});

describe('merging users', () => {
  test('merge moves accounts, roles (duplicates collapse), memberships and DMs, and records it on both', () => {
    const main = createAgentGroup(db, { name: 'Main', folder: 'main' }, start);
    const ops = createAgentGroup(db, { name: 'Ops', folder: 'ops' }, start);
    const from = userForAccount(db, account('telegram', '1', 'Ana (phone)'), start);
    linkAccount(db, from.id, account('email', 'ana@example.org'), { actor: 'cli:op', now: start });
    const into = userForAccount(db, account('webchat', 'ana', 'Ana'), start);
    grantRole(db, { userId: from.id, role: 'admin', agentGroupId: main.id }, 'cli:op', start);
    grantRole(db, { userId: into.id, role: 'admin', agentGroupId: main.id }, 'cli:op', start); // duplicate
    grantRole(db, { userId: from.id, role: 'admin', agentGroupId: null }, 'cli:op', start);
    addMember(db, from.id, ops.id, 'cli:op', start);
    setUserDm(db, from.id, chat('tg-dm', 'telegram').id, start);

    const report = mergeUsers(db, from.id, into.id, 'cli:op', at(1).toISOString());

    expect(
      listIdentities(db, into.id)
        .map((i) => `${i.kind}:${i.externalId}`)
        .sort(),
    ).toEqual(['email:ana@example.org', 'telegram:1', 'webchat:ana']);
    expect(listIdentities(db, from.id)).toEqual([]);
    expect(
      listRoles(db, into.id)
        .map((r) => `${r.role}@${r.agentGroupId ?? '*'}`)
        .sort(),
    ).toEqual([`admin@${main.id}`, 'admin@*'].sort());
    expect(listRoles(db, from.id)).toEqual([]);
    expect(report.rolesAdded).toEqual([{ role: 'admin', agentGroupId: null }]);
    expect(report.membershipsAdded).toEqual([ops.id]);
    expect(can(db, into.id, { kind: 'message', agentGroupId: ops.id }).allowed).toBe(true);
    expect(getUserDm(db, into.id, 'telegram')?.messagingGroupId).toBe(chat('tg-dm', 'telegram').id);

    expect(getUser(db, from.id)).toMatchObject({ mergedInto: into.id, status: 'suspended' });
    expect(can(db, from.id, { kind: 'message', agentGroupId: main.id })).toEqual({
      allowed: false,
      reason: 'user_merged',
    });
    expect(listIdentityEvents(db, from.id).at(-1)).toMatchObject({
      event: 'merged',
      actor: 'cli:op',
      after: { mergedInto: into.id },
    });
    expect(listIdentityEvents(db, into.id).at(-1)).toMatchObject({
      event: 'merged',
      after: { mergedFrom: from.id, status: 'active' },
    });
    expect(listAuditEvents(db, { target: { kind: 'user', id: into.id } })[0]).toMatchObject({
      action: 'user.merged',
      detail: { from: from.id, identities: 2 },
    });
  });

  test('a merge never lifts a suspension: merging a suspended user suspends the result', () => {
    const from = userForAccount(db, account('telegram', '1'), start);
    const into = userForAccount(db, account('webchat', 'a'), start);
    setUserStatus(db, from.id, 'suspended', 'cli:op', start);
    expect(mergeUsers(db, from.id, into.id, 'cli:op', start).status).toBe('suspended');
    expect(getUser(db, into.id)?.status).toBe('suspended');
  });

  test('a user cannot be merged twice or into itself', () => {
    const a = userForAccount(db, account('telegram', '1'), start);
    const b = userForAccount(db, account('webchat', 'b'), start);
    expect(() => mergeUsers(db, a.id, a.id, 'cli:op', start)).toThrow(/into itself/);
    mergeUsers(db, a.id, b.id, 'cli:op', start);
    expect(() => mergeUsers(db, a.id, b.id, 'cli:op', start)).toThrow(/was merged into/);
  });
});

describe('binding codes', () => {
  const control = (text: string) => parseControl(text) as ControlCommand;

  function send(text: string, from: Account, where: MessagingGroup, now: Date) {
    const sender = userForAccount(db, from, now.toISOString());
    return applyControl(control(text), {
      db,
      now,
      codeTtlMs: 10 * 60_000,
      chat: where,
      account: from,
      threadId: null,
      sender,
    });
  }

  test('"/link" and "/link CODE" are control commands; anything else is an ordinary message', () => {
    expect(parseControl('/link')).toEqual({ kind: 'link_request' });
    expect(parseControl('  /LINK@warren_bot  ')).toEqual({ kind: 'link_request' });
    expect(parseControl('/link abcde-fghjk')).toEqual({ kind: 'link_code', code: 'abcde-fghjk' });
    expect(parseControl('please /link me')).toBeNull();
    expect(parseControl('/linked')).toBeNull();
  });

  test('a code asked for in chat links the other account once; the leftover first-contact user is merged', () => {
    const web = account('webchat', 'ana', 'Ana');
    const phone = account('telegram', '42', 'Ana phone');
    const owner = userForAccount(db, web, start);
    const stranger = userForAccount(db, phone, start); // first contact from the phone, before linking

    const issued = send('/link', web, chat('ana-dm'), at(0));
    expect(issued.outcome).toBe('code_issued');
    expect(issued.reply.to).toEqual({ channelType: 'webchat', chatId: 'ana-dm', threadId: null });
    const code = /([A-Z0-9]{5}-[A-Z0-9]{5})/.exec(issued.reply.text)![1]!;

    const linked = send(`/link ${code.toLowerCase()}`, phone, chat('tg-42', 'telegram'), at(9));
    expect(linked).toMatchObject({ outcome: 'linked', userId: owner.id });
    expect(
      listIdentities(db, owner.id)
        .map((i) => i.kind)
        .sort(),
    ).toEqual(['telegram', 'webchat']);
    expect(getUser(db, stranger.id)?.mergedInto).toBe(owner.id);
    expect(listIdentityEvents(db, owner.id).map((e) => e.event)).toEqual(
      expect.arrayContaining(['added', 'merged']),
    );

    const again = send(`/link ${code}`, account('telegram', '43'), chat('tg-43', 'telegram'), at(10));
    expect(again.outcome).toBe('code_invalid');
    expect(userForAccount(db, account('telegram', '43'), at(10).toISOString()).id).not.toBe(owner.id);
  });

  test('a code does not work after 15 minutes (a clock moved forward)', () => {
    const owner = userForAccount(db, account('webchat', 'ana'), start);
    const { code } = createBindingCode(db, owner.id, start, 15 * 60_000);
    const phone = account('telegram', '42');
    expect(send(`/link ${code}`, phone, chat('tg-42', 'telegram'), at(15)).outcome).toBe('code_invalid');
    expect(userForAccount(db, phone, at(15).toISOString()).id).not.toBe(owner.id);
    expect(() => createBindingCode(db, owner.id, start, 16 * 60_000)).toThrow(RangeError);
  });

  test('a code is never shown in a group chat: it goes to the DM, or the person is told to ask there', () => {
    const web = account('webchat', 'ana');
    const team = chat('team', 'slack', true);
    const refused = send('/link', account('slack', 'U1'), team, at(0));
    expect(refused.outcome).toBe('code_refused_in_group');
    expect(refused.reply.text).not.toMatch(/[A-Z0-9]{5}-[A-Z0-9]{5}/);

    const ana = userForAccount(db, web, start);
    linkAccount(db, ana.id, account('slack', 'U2'), { actor: 'cli:op', now: start });
    setUserDm(db, ana.id, chat('slack-dm', 'slack').id, start);
    const toDm = send('/link', account('slack', 'U2'), team, at(0));
    expect(toDm.outcome).toBe('code_issued');
    expect(toDm.reply.to.chatId).toBe('slack-dm');
  });

  test('a suspended user can neither ask for a code nor link with one', () => {
    const web = account('webchat', 'mallory');
    const user = userForAccount(db, web, start);
    const { code } = createBindingCode(db, user.id, start);
    setUserStatus(db, user.id, 'suspended', 'cli:op', start);
    expect(send('/link', web, chat('m-dm'), at(1)).outcome).toBe('refused_suspended');
    expect(send(`/link ${code}`, account('telegram', '9'), chat('tg-9', 'telegram'), at(1)).outcome).toBe(
      'refused_suspended',
    );
    expect(listIdentities(db, user.id)).toHaveLength(1);
  });
});
