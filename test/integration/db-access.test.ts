import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, test } from 'vitest';
import { ZodError } from 'zod';
import {
  createAgentGroup,
  getAgentGroup,
  getAgentGroupByFolder,
  listAgentGroups,
  updateAgentGroup,
} from '../../src/db/agent-groups.ts';
import {
  answerQuestion,
  createApproval,
  createQuestion,
  decideApproval,
  getApproval,
  getQuestion,
  listPendingApprovals,
  listPendingQuestions,
} from '../../src/db/approvals.ts';
import { appendAuditEvent, listAuditEvents } from '../../src/db/audit.ts';
import {
  createChannelInstallation,
  getChannelInstallation,
  listChannelInstallations,
  setInstallationStatus,
} from '../../src/db/channel-installations.ts';
import { openCentralDb, type Db } from '../../src/db/connection.ts';
import { finishAttempt, listAttempts, startAttempt } from '../../src/db/deliveries.ts';
import {
  addAgentDestination,
  addChannelDestination,
  listDestinations,
  removeDestination,
} from '../../src/db/destinations.ts';
import { listDroppedMessages, recordDroppedMessage } from '../../src/db/dropped-messages.ts';
import { claimInbound, markInboundProcessed } from '../../src/db/inbound-dedup.ts';
import {
  denyMessagingGroup,
  findMessagingGroup,
  findOrCreateMessagingGroup,
  getMessagingGroup,
  listMessagingGroups,
  setUnknownSenderPolicy,
} from '../../src/db/messaging-groups.ts';
import {
  addMember,
  grantRole,
  isAdmin,
  isMember,
  isOwner,
  listRoles,
  removeMember,
  revokeRole,
} from '../../src/db/roles.ts';
import {
  closeSession,
  createSession,
  findActiveSession,
  getSession,
  listActiveSessions,
  setContainerStatus,
  touchSession,
} from '../../src/db/sessions.ts';
import {
  consumeBindingCode,
  createApiToken,
  createBindingCode,
  revokeApiToken,
  verifyApiToken,
} from '../../src/db/tokens.ts';
import { getUserDm, listUserDms, setUserDm, UnknownMessagingGroupError } from '../../src/db/user-dms.ts';
import {
  addIdentity,
  createUser,
  findUserByIdentity,
  getUser,
  IdentityTakenError,
  listIdentities,
  listIdentityEvents,
  setUserStatus,
} from '../../src/db/users.ts';
import {
  createWiring,
  deleteWiring,
  listWiringsForAgentGroup,
  listWiringsForMessagingGroup,
} from '../../src/db/wirings.ts';

const now = '2026-11-23T10:00:00.000Z';
/** `now` moved by some minutes: tests pass time in, nothing reads the clock. */
const at = (minutes: number) => new Date(Date.parse(now) + minutes * 60_000).toISOString();

let db: Db;
beforeEach(() => {
  db = openCentralDb(join(mkdtempSync(join(tmpdir(), 'warren-')), 'warren.db'));
  return () => db.close();
});

const agentGroup = (folder = 'main') => createAgentGroup(db, { name: folder, folder }, now);
const chat = (platformId = 'chat-1') =>
  findOrCreateMessagingGroup(db, { channelType: 'webchat', platformId }, now).messagingGroup;
const session = () =>
  createSession(db, { agentGroupId: agentGroup().id, messagingGroupId: null, threadId: null }, now);

describe('agent groups', () => {
  test('a new agent group is found by id and by folder, with the scripted provider by default', () => {
    const group = createAgentGroup(db, { name: 'Family helper', folder: 'family' }, now);
    expect(group).toMatchObject({
      name: 'Family helper',
      folder: 'family',
      provider: 'scripted',
      containerConfig: {},
    });
    expect(getAgentGroup(db, group.id)).toEqual(group);
    expect(getAgentGroupByFolder(db, 'family')).toEqual(group);
    expect(listAgentGroups(db)).toEqual([group]);
  });

  test('a folder that is not a plain lowercase name is rejected before anything is written', () => {
    for (const folder of ['../etc', 'My Folder', '.hidden', '']) {
      expect(() => createAgentGroup(db, { name: 'x', folder }, now)).toThrow(ZodError);
    }
    expect(listAgentGroups(db)).toEqual([]);
  });

  test('an update changes only the fields it names, and null clears a field', () => {
    const group = createAgentGroup(
      db,
      { name: 'a', folder: 'a', model: 'm1', timezone: 'Europe/Lisbon' },
      now,
    );
    const updated = updateAgentGroup(db, group.id, { provider: 'openai', model: null }, at(1));
    expect(updated).toMatchObject({
      provider: 'openai',
      model: null,
      timezone: 'Europe/Lisbon',
      updatedAt: at(1),
    });
    expect(
      updateAgentGroup(db, group.id, { containerConfig: { memoryMb: 256 } }, at(2))?.containerConfig,
    ).toEqual({
      memoryMb: 256,
    });
  });

  test('an unknown time zone is rejected', () => {
    const group = agentGroup();
    expect(() => updateAgentGroup(db, group.id, { timezone: 'Mars/Olympus' }, now)).toThrow(/time zone/);
  });

  test('updating an agent group that does not exist returns nothing', () => {
    expect(updateAgentGroup(db, 'ag_missing', { model: 'm' }, now)).toBeUndefined();
  });
});

describe('messaging groups', () => {
  test('a chat is created on first contact and found unchanged afterwards', () => {
    const first = findOrCreateMessagingGroup(
      db,
      { channelType: 'telegram', platformId: '-100', isGroup: true },
      now,
    );
    const again = findOrCreateMessagingGroup(db, { channelType: 'telegram', platformId: '-100' }, at(1));
    expect(first.created).toBe(true);
    expect(again).toEqual({ messagingGroup: first.messagingGroup, created: false });
    expect(first.messagingGroup).toMatchObject({
      isGroup: true,
      unknownSenderPolicy: 'strict',
      deniedAt: null,
    });
    expect(findMessagingGroup(db, 'telegram', '-100')).toEqual(first.messagingGroup);
    expect(listMessagingGroups(db)).toHaveLength(1);
  });

  test('denying a chat records when, and denying it again changes nothing', () => {
    const mg = chat();
    expect(denyMessagingGroup(db, mg.id, now)).toBe(true);
    expect(denyMessagingGroup(db, mg.id, at(5))).toBe(false);
    expect(getMessagingGroup(db, mg.id)?.deniedAt).toBe(now);
  });

  test('the unknown-sender policy can be changed to a known policy only', () => {
    const mg = chat();
    expect(setUnknownSenderPolicy(db, mg.id, 'public')).toBe(true);
    expect(getMessagingGroup(db, mg.id)?.unknownSenderPolicy).toBe('public');
    expect(() => setUnknownSenderPolicy(db, mg.id, 'open' as 'public')).toThrow(ZodError);
  });
});

describe('wirings', () => {
  test("a chat's wirings are listed highest priority first", () => {
    const mg = chat();
    const low = createWiring(
      db,
      { messagingGroupId: mg.id, agentGroupId: agentGroup('low').id, priority: 1 },
      now,
    );
    const high = createWiring(
      db,
      { messagingGroupId: mg.id, agentGroupId: agentGroup('high').id, priority: 9 },
      now,
    );
    expect(listWiringsForMessagingGroup(db, mg.id).map((w) => w.id)).toEqual([high.id, low.id]);
    expect(listWiringsForAgentGroup(db, high.agentGroupId)).toEqual([high]);
  });

  test('a pattern wiring needs a valid regular expression', () => {
    const base = {
      messagingGroupId: chat().id,
      agentGroupId: agentGroup().id,
      engageMode: 'pattern' as const,
    };
    expect(() => createWiring(db, base, now)).toThrow(/engagePattern/);
    expect(() => createWiring(db, { ...base, engagePattern: '(unclosed' }, now)).toThrow(
      /regular expression/,
    );
    expect(createWiring(db, { ...base, engagePattern: '^@bot\\b' }, now).engagePattern).toBe('^@bot\\b');
  });

  test('a deleted wiring is gone and deleting it again reports nothing deleted', () => {
    const mg = chat();
    const wiring = createWiring(db, { messagingGroupId: mg.id, agentGroupId: agentGroup().id }, now);
    expect(deleteWiring(db, wiring.id)).toBe(true);
    expect(deleteWiring(db, wiring.id)).toBe(false);
    expect(listWiringsForMessagingGroup(db, mg.id)).toEqual([]);
  });
});

/** Identity events after the 'created' one every new user starts with. */
const changesSinceCreation = (userId: string) => {
  const [created, ...rest] = listIdentityEvents(db, userId);
  expect(created?.event).toBe('created');
  return rest;
};

describe('users and identities', () => {
  test('creating a user records who created it', () => {
    const user = createUser(db, { displayName: 'Ana' }, now, 'u_admin');
    expect(listIdentityEvents(db, user.id)).toMatchObject([
      { event: 'created', actor: 'u_admin', before: null, after: { kind: 'person', status: 'active' } },
    ]);
  });

  test('changing a user status writes an identity event with the before and after status', () => {
    const user = createUser(db, { displayName: 'Ana' }, now);
    expect(setUserStatus(db, user.id, 'suspended', 'u_admin', at(1))).toBe(true);
    expect(getUser(db, user.id)).toMatchObject({ status: 'suspended', updatedAt: at(1) });
    expect(changesSinceCreation(user.id)).toMatchObject([
      {
        event: 'status_changed',
        actor: 'u_admin',
        before: { status: 'active' },
        after: { status: 'suspended' },
      },
    ]);
  });

  test('setting the status a user already has records nothing', () => {
    const user = createUser(db, {}, now);
    expect(setUserStatus(db, user.id, 'active', 'u_admin', now)).toBe(false);
    expect(changesSinceCreation(user.id)).toEqual([]);
  });

  test('an added identity finds its user and is recorded as added', () => {
    const user = createUser(db, { displayName: 'Ana' }, now);
    addIdentity(db, { userId: user.id, kind: 'telegram', externalId: '123' }, 'system', now);
    expect(findUserByIdentity(db, 'telegram', '123')).toEqual(user);
    expect(findUserByIdentity(db, 'telegram', '999')).toBeUndefined();
    expect(listIdentities(db, user.id)).toMatchObject([{ kind: 'telegram', externalId: '123' }]);
    expect(changesSinceCreation(user.id)).toMatchObject([
      { event: 'added', actor: 'system', before: null, after: { kind: 'telegram', externalId: '123' } },
    ]);
  });

  test('adding the same identity to the same user again is a no-op', () => {
    const user = createUser(db, {}, now);
    const identity = { userId: user.id, kind: 'slack', externalId: 'U1' };
    const first = addIdentity(db, identity, 'system', now);
    expect(addIdentity(db, identity, 'system', at(1))).toEqual(first);
    expect(changesSinceCreation(user.id)).toHaveLength(1);
  });

  test("an identity that belongs to another user is refused and the other user's record is untouched", () => {
    const ana = createUser(db, {}, now);
    const bob = createUser(db, {}, now);
    addIdentity(db, { userId: ana.id, kind: 'telegram', externalId: '123' }, 'system', now);
    expect(() =>
      addIdentity(db, { userId: bob.id, kind: 'telegram', externalId: '123' }, 'system', now),
    ).toThrow(IdentityTakenError);
    expect(findUserByIdentity(db, 'telegram', '123')?.id).toBe(ana.id);
    expect(changesSinceCreation(bob.id)).toEqual([]);
  });
});

describe('roles and members', () => {
  test('a global admin is admin of every agent group, a scoped admin only of theirs', () => {
    const [a, b] = [agentGroup('a'), agentGroup('b')];
    const globalAdmin = createUser(db, {}, now);
    const scopedAdmin = createUser(db, {}, now);
    grantRole(db, { userId: globalAdmin.id, role: 'admin' }, 'u_owner', now);
    grantRole(db, { userId: scopedAdmin.id, role: 'admin', agentGroupId: a.id }, 'u_owner', now);
    expect([
      isAdmin(db, globalAdmin.id, a.id),
      isAdmin(db, globalAdmin.id, b.id),
      isAdmin(db, globalAdmin.id),
    ]).toEqual([true, true, true]);
    expect([
      isAdmin(db, scopedAdmin.id, a.id),
      isAdmin(db, scopedAdmin.id, b.id),
      isAdmin(db, scopedAdmin.id),
    ]).toEqual([true, false, false]);
  });

  test('an owner is an admin of everything', () => {
    const owner = createUser(db, {}, now);
    grantRole(db, { userId: owner.id, role: 'owner' }, 'setup', now);
    expect(isOwner(db, owner.id)).toBe(true);
    expect(isAdmin(db, owner.id, agentGroup().id)).toBe(true);
  });

  test('granting a role twice reports the second grant as no change', () => {
    const user = createUser(db, {}, now);
    expect(grantRole(db, { userId: user.id, role: 'admin' }, 'u_owner', now)).toBe(true);
    expect(grantRole(db, { userId: user.id, role: 'admin', agentGroupId: null }, 'u_owner', now)).toBe(false);
    expect(listRoles(db, user.id)).toMatchObject([
      { role: 'admin', agentGroupId: null, grantedBy: 'u_owner' },
    ]);
  });

  test('revoking a scoped admin role keeps the global one, and both changes are recorded', () => {
    const user = createUser(db, {}, now);
    const group = agentGroup();
    grantRole(db, { userId: user.id, role: 'admin' }, 'u_owner', now);
    grantRole(db, { userId: user.id, role: 'admin', agentGroupId: group.id }, 'u_owner', now);
    expect(revokeRole(db, { userId: user.id, role: 'admin', agentGroupId: group.id }, 'u_owner', at(1))).toBe(
      true,
    );
    expect(revokeRole(db, { userId: user.id, role: 'admin', agentGroupId: group.id }, 'u_owner', at(1))).toBe(
      false,
    );
    expect(listRoles(db, user.id)).toMatchObject([{ role: 'admin', agentGroupId: null }]);
    expect(changesSinceCreation(user.id).map((e) => [e.event, e.before, e.after])).toEqual([
      ['role_changed', null, { role: 'admin', agentGroupId: null }],
      ['role_changed', null, { role: 'admin', agentGroupId: group.id }],
      ['role_changed', { role: 'admin', agentGroupId: group.id }, null],
    ]);
  });

  test('an owner role scoped to an agent group is refused', () => {
    const user = createUser(db, {}, now);
    expect(() =>
      grantRole(db, { userId: user.id, role: 'owner', agentGroupId: agentGroup().id }, 'x', now),
    ).toThrow(/global role/);
  });

  test('a member added to an agent group is a member of that group only, until removed', () => {
    const [a, b] = [agentGroup('a'), agentGroup('b')];
    const user = createUser(db, {}, now);
    expect(addMember(db, user.id, a.id, 'u_admin', now)).toBe(true);
    expect(addMember(db, user.id, a.id, 'u_admin', now)).toBe(false);
    expect([isMember(db, user.id, a.id), isMember(db, user.id, b.id)]).toEqual([true, false]);
    expect(removeMember(db, user.id, a.id, 'u_admin', at(1))).toBe(true);
    expect(isMember(db, user.id, a.id)).toBe(false);
    expect(changesSinceCreation(user.id)).toHaveLength(2);
  });
});

describe('user DMs', () => {
  test("a user's DM on a channel type is replaced by a newer one", () => {
    const user = createUser(db, {}, now);
    const [old, fresh] = [chat('dm-old'), chat('dm-new')];
    setUserDm(db, user.id, old.id, now);
    setUserDm(db, user.id, fresh.id, at(1));
    expect(getUserDm(db, user.id, 'webchat')).toEqual({
      userId: user.id,
      channelType: 'webchat',
      messagingGroupId: fresh.id,
      updatedAt: at(1),
    });
    expect(listUserDms(db, user.id)).toHaveLength(1);
  });

  test('a DM pointing at a chat that does not exist is refused', () => {
    const user = createUser(db, {}, now);
    expect(() => setUserDm(db, user.id, 'mg_missing', now)).toThrow(UnknownMessagingGroupError);
  });
});

describe('sessions', () => {
  test('the active session is found by its key, including an empty chat and thread', () => {
    const group = agentGroup();
    const shared = createSession(db, { agentGroupId: group.id, messagingGroupId: null, threadId: null }, now);
    const mg = chat();
    const threaded = createSession(
      db,
      { agentGroupId: group.id, messagingGroupId: mg.id, threadId: 't1' },
      now,
    );
    expect(findActiveSession(db, { agentGroupId: group.id, messagingGroupId: null, threadId: null })).toEqual(
      shared,
    );
    expect(
      findActiveSession(db, { agentGroupId: group.id, messagingGroupId: mg.id, threadId: 't1' }),
    ).toEqual(threaded);
    expect(
      findActiveSession(db, { agentGroupId: group.id, messagingGroupId: mg.id, threadId: null }),
    ).toBeUndefined();
  });

  test('a closed session is no longer active and a new one can take its key', () => {
    const s = session();
    const key = { agentGroupId: s.agentGroupId, messagingGroupId: null, threadId: null };
    expect(closeSession(db, s.id, at(1))).toBe(true);
    expect(closeSession(db, s.id, at(2))).toBe(false);
    expect(getSession(db, s.id)).toMatchObject({ status: 'closed', closedAt: at(1) });
    expect(findActiveSession(db, key)).toBeUndefined();
    expect(listActiveSessions(db)).toEqual([]);
    expect(createSession(db, key, at(3)).id).not.toBe(s.id);
  });

  test('container status and last activity are recorded on the session', () => {
    const s = session();
    expect(setContainerStatus(db, s.id, 'running')).toBe(true);
    expect(touchSession(db, s.id, at(4))).toBe(true);
    expect(getSession(db, s.id)).toMatchObject({ containerStatus: 'running', lastActive: at(4) });
  });
});

describe('destinations', () => {
  test('channel destinations carry the chat address and agent destinations the target group', () => {
    const [me, helper] = [agentGroup('me'), agentGroup('helper')];
    const family = chat('family');
    addChannelDestination(db, me.id, 'family', family.id, now);
    addAgentDestination(db, me.id, 'helper', helper.id, now);
    expect(listDestinations(db, me.id)).toEqual([
      {
        agentGroupId: me.id,
        name: 'family',
        kind: 'channel',
        messagingGroupId: family.id,
        channelType: 'webchat',
        platformId: 'family',
        createdAt: now,
      },
      { agentGroupId: me.id, name: 'helper', kind: 'agent', targetAgentGroupId: helper.id, createdAt: now },
    ]);
    expect(removeDestination(db, me.id, 'helper')).toBe(true);
    expect(listDestinations(db, me.id).map((d) => d.name)).toEqual(['family']);
  });

  test('a destination name an agent could not type reliably is refused', () => {
    const me = agentGroup();
    expect(() => addChannelDestination(db, me.id, '../x\n', chat().id, now)).toThrow(ZodError);
  });
});

describe('approvals and questions', () => {
  const request = {
    kind: 'install_packages' as const,
    requestedBy: 'ses_1',
    payload: { apt: ['ffmpeg'], npm: [] },
    renderedEffect: 'Install apt package ffmpeg',
    expiresAt: at(60),
  };

  test('an approval stores the sha256 of exactly the payload JSON it stores', () => {
    const approval = createApproval(db, request, now);
    const stored = db
      .prepare('SELECT payload FROM approvals WHERE id = ?')
      .pluck()
      .get(approval.id) as string;
    expect(approval.payloadHash).toBe(createHash('sha256').update(stored).digest('hex'));
    expect(approval).toMatchObject({ status: 'pending', expiryAction: 'reject', payload: request.payload });
  });

  test('expiry times are stored in one UTC form so they compare as time', () => {
    const approval = createApproval(db, { ...request, expiresAt: '2026-11-23T12:00:00+02:00' }, now);
    expect(approval.expiresAt).toBe('2026-11-23T10:00:00.000Z');
  });

  test('an approval is decided once; a second decision changes nothing', () => {
    const approval = createApproval(db, request, now);
    expect(decideApproval(db, approval.id, 'approved', 'u_admin', at(1), 'fine')).toBe(true);
    expect(decideApproval(db, approval.id, 'rejected', 'u_other', at(2))).toBe(false);
    expect(getApproval(db, approval.id)).toMatchObject({
      status: 'approved',
      decidedBy: 'u_admin',
      decidedAt: at(1),
      note: 'fine',
    });
    expect(listPendingApprovals(db)).toEqual([]);
  });

  test('a question is answered once and then leaves the pending list', () => {
    const s = session();
    const options = [
      { label: 'Yes', value: 'yes' },
      { label: 'No', value: 'no' },
    ];
    createQuestion(db, { id: 'q1', sessionId: s.id, question: 'Deploy?', options, expiresAt: at(30) }, now);
    expect(listPendingQuestions(db).map((q) => q.id)).toEqual(['q1']);
    expect(answerQuestion(db, 'q1', 'yes', 'u_ana', at(1))).toBe(true);
    expect(answerQuestion(db, 'q1', 'no', 'u_bob', at(2))).toBe(false);
    expect(getQuestion(db, 'q1')).toMatchObject({
      status: 'answered',
      answer: 'yes',
      answeredBy: 'u_ana',
      options,
    });
    expect(listPendingQuestions(db)).toEqual([]);
  });
});

describe('dropped messages', () => {
  test('drops are counted per chat, sender and reason', () => {
    const drop = {
      channelType: 'telegram',
      chatId: '-100',
      senderId: '42',
      reason: 'unknown_sender' as const,
    };
    recordDroppedMessage(db, { ...drop, messageId: 'm1' }, now);
    recordDroppedMessage(db, { ...drop, messageId: 'm2' }, at(1));
    expect(recordDroppedMessage(db, drop, at(2))).toBe(3);
    recordDroppedMessage(db, { ...drop, reason: 'not_engaged' }, at(3));
    expect(listDroppedMessages(db)).toMatchObject([
      { reason: 'not_engaged', count: 1 },
      { reason: 'unknown_sender', count: 3, firstAt: now, lastAt: at(2), lastMessageId: 'm2' },
    ]);
  });
});

describe('inbound dedup', () => {
  const key = { channelType: 'webchat', platformMessageId: 'm1' };
  const staleAfterMs = 60_000;

  test('the same platform message claimed twice is a duplicate the second time', () => {
    expect(claimInbound(db, key, 'tok-a', now, staleAfterMs)).toBe('claimed');
    expect(claimInbound(db, key, 'tok-b', at(0.5), staleAfterMs)).toBe('duplicate');
  });

  test('a stale claim that was never processed can be claimed again', () => {
    claimInbound(db, key, 'tok-a', now, staleAfterMs);
    expect(claimInbound(db, key, 'tok-b', at(2), staleAfterMs)).toBe('claimed');
    expect(markInboundProcessed(db, key, 'tok-a', at(2))).toBe(false);
    expect(markInboundProcessed(db, key, 'tok-b', at(2))).toBe(true);
  });

  test('a processed message stays a duplicate however old its claim', () => {
    claimInbound(db, key, 'tok-a', now, staleAfterMs);
    markInboundProcessed(db, key, 'tok-a', now);
    expect(claimInbound(db, key, 'tok-b', at(60 * 24), staleAfterMs)).toBe('duplicate');
  });

  test('the same message id from another installation is a different message', () => {
    claimInbound(db, key, 'tok-a', now, staleAfterMs);
    expect(claimInbound(db, { ...key, installation: 'second-bot' }, 'tok-b', now, staleAfterMs)).toBe(
      'claimed',
    );
  });
});

describe('delivery attempts', () => {
  const message = () => ({
    sessionId: session().id,
    messageOutId: 'msg_1',
    idempotencyKey: 'k1',
    channelType: 'webchat',
  });

  test('attempts are numbered in order and keep their outcome, with error text cut to 1024 characters', () => {
    const m = message();
    const first = startAttempt(db, m, now);
    expect(
      finishAttempt(
        db,
        first.id,
        { status: 'failed', errorCode: 'transient', error: 'x'.repeat(5000) },
        at(1),
      ),
    ).toBe(true);
    const second = startAttempt(db, m, at(2));
    finishAttempt(db, second.id, { status: 'delivered', platformMessageId: 'p-9' }, at(3));
    const attempts = listAttempts(db, m.sessionId, m.messageOutId);
    expect(attempts.map((a) => [a.attempt, a.status, a.errorCode, a.platformMessageId])).toEqual([
      [1, 'failed', 'transient', null],
      [2, 'delivered', null, 'p-9'],
    ]);
    expect(attempts[0]!.error).toHaveLength(1024);
  });

  test('an attempt that already finished cannot be finished again', () => {
    const attempt = startAttempt(db, message(), now);
    finishAttempt(db, attempt.id, { status: 'delivered' }, at(1));
    expect(finishAttempt(db, attempt.id, { status: 'failed', errorCode: 'unknown' }, at(2))).toBe(false);
  });

  test('a failed attempt without an error code from the closed set is refused', () => {
    const attempt = startAttempt(db, message(), now);
    expect(() => finishAttempt(db, attempt.id, { status: 'failed' } as never, at(1))).toThrow(ZodError);
    expect(() =>
      finishAttempt(db, attempt.id, { status: 'failed', errorCode: 'boom' as 'unknown' }, at(1)),
    ).toThrow(ZodError);
  });
});

describe('audit events', () => {
  test('audit events list newest first, by target, a page at a time', () => {
    for (const [i, target] of ['apr_1', 'apr_2', 'apr_1'].entries()) {
      appendAuditEvent(
        db,
        { actor: 'u_admin', action: 'approval.decided', targetKind: 'approval', targetId: target },
        at(i),
      );
    }
    const forApr1 = listAuditEvents(db, { target: { kind: 'approval', id: 'apr_1' } });
    expect(forApr1.map((e) => e.createdAt)).toEqual([at(2), at(0)]);
    const page1 = listAuditEvents(db, { limit: 2 });
    const page2 = listAuditEvents(db, { limit: 2, beforeId: page1.at(-1)!.id });
    expect([...page1, ...page2].map((e) => e.createdAt)).toEqual([at(2), at(1), at(0)]);
  });
});

describe('tokens', () => {
  test('an API token verifies until it is revoked, and only its hash and last four characters are stored', () => {
    const user = createUser(db, {}, now);
    const { token, apiToken } = createApiToken(db, user.id, 'laptop', now);
    expect(apiToken.preview).toBe(token.slice(-4));
    expect(JSON.stringify(db.prepare('SELECT * FROM api_tokens').all())).not.toContain(token);
    expect(verifyApiToken(db, token, at(1))).toMatchObject({
      id: apiToken.id,
      userId: user.id,
      lastUsedAt: at(1),
    });
    expect(verifyApiToken(db, `${token}x`, at(1))).toBeUndefined();
    expect(revokeApiToken(db, apiToken.id, at(2))).toBe(true);
    expect(verifyApiToken(db, token, at(3))).toBeUndefined();
  });

  test("a suspended user's API tokens stop verifying", () => {
    const user = createUser(db, {}, now);
    const { token } = createApiToken(db, user.id, 'laptop', now);
    setUserStatus(db, user.id, 'suspended', 'u_owner', at(1));
    expect(verifyApiToken(db, token, at(2))).toBeUndefined();
  });

  test('a binding code links to its user once', () => {
    const user = createUser(db, {}, now);
    const { code } = createBindingCode(db, user.id, now);
    expect(consumeBindingCode(db, code, 'telegram:123', at(1))).toBe(user.id);
    expect(consumeBindingCode(db, code, 'telegram:456', at(1))).toBeNull();
  });

  test('a binding code is accepted in lowercase and without its dash', () => {
    const user = createUser(db, {}, now);
    const { code } = createBindingCode(db, user.id, now);
    expect(consumeBindingCode(db, code.replace('-', ' ').toLowerCase(), 'telegram:123', at(1))).toBe(user.id);
  });

  test('a binding code is refused after it expires', () => {
    const user = createUser(db, {}, now);
    const { code, expiresAt } = createBindingCode(db, user.id, now, 5 * 60_000);
    expect(expiresAt).toBe(at(5));
    expect(consumeBindingCode(db, code, 'telegram:123', at(5))).toBeNull();
  });

  test('a binding code cannot be made to live longer than 15 minutes', () => {
    const user = createUser(db, {}, now);
    expect(() => createBindingCode(db, user.id, now, 16 * 60_000)).toThrow(/15 minutes/);
  });
});

describe('channel installations', () => {
  test('an installation can be disabled and is then listed among the disabled ones only', () => {
    const bot = createChannelInstallation(
      db,
      { channelType: 'telegram', name: 'family-bot', config: { tokenEnv: 'TG_TOKEN' } },
      now,
    );
    expect(getChannelInstallation(db, bot.id)).toMatchObject({
      status: 'enabled',
      config: { tokenEnv: 'TG_TOKEN' },
    });
    expect(setInstallationStatus(db, bot.id, 'disabled', at(1))).toBe(true);
    expect(listChannelInstallations(db, 'enabled')).toEqual([]);
    expect(listChannelInstallations(db, 'disabled').map((i) => i.id)).toEqual([bot.id]);
    expect(listChannelInstallations(db)).toHaveLength(1);
  });
});
