// Every approval kind, end to end through the engine on a real database and real session files:
// approved from a card, rejected from a numbered-text reply, expired either way, refused for an
// unauthorized decider and for a payload changed after its card was shown.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { getAgentGroup, getAgentGroupByFolder } from '../../src/db/agent-groups.ts';
import { listCards } from '../../src/db/approval-cards.ts';
import { getApproval, type Approval } from '../../src/db/approvals.ts';
import { listAuditEvents } from '../../src/db/audit.ts';
import { listDestinations } from '../../src/db/destinations.ts';
import type { ApprovalKind, ExpiryAction } from '../../src/db/enums.ts';
import { createMessagingGroup, getMessagingGroup } from '../../src/db/messaging-groups.ts';
import { isMember } from '../../src/db/roles.ts';
import { withSessionFile } from '../../src/host/sessions/index.ts';
import { addIdentity, createUser } from '../../src/db/users.ts';
import { listWiringsForMessagingGroup } from '../../src/db/wirings.ts';
import { createWorld, type Person, type World } from '../harness/approvals.ts';

let w: World;
beforeEach(() => {
  w = createWorld();
});
afterEach(() => w.close());

const HOUR = 3_600_000;

interface KindCase {
  kind: ApprovalKind;
  /** Asks for it (as its real requester would), with this expiry action. */
  ask(expiryAction?: ExpiryAction): Promise<Approval>;
  /** Whether its effect is in place. */
  applied(a: Approval): boolean;
  /** Who is told the outcome: an agent (its session) or a person (their chat on `rich`). */
  requester: { sessionId: () => string } | { chat: string };
}

function cases(): KindCase[] {
  let agentSession: string | undefined;
  const session = () => (agentSession ??= w.session(w.main).id);
  const agentAsks = async (kind: ApprovalKind, payload: unknown, expiryAction?: ExpiryAction) => {
    const outcome = await w.engine.request({
      kind,
      agentGroupId: w.main.id,
      sessionId: session(),
      requestedBy: `agent:${w.main.id}`,
      payload,
      expiryAction,
    });
    if (!outcome.ok) throw new Error(outcome.error);
    return outcome.approval;
  };
  return [
    {
      kind: 'new_sender',
      async ask(expiryAction) {
        const sam = createUser(w.db, { displayName: 'Sam' }, w.now().toISOString());
        addIdentity(w.db, { userId: sam.id, kind: 'rich', externalId: 'sam' }, 'test', w.now().toISOString());
        const lobby = createMessagingGroup(
          w.db,
          { channelType: 'rich', platformId: 'lobby', isGroup: true },
          w.now().toISOString(),
        );
        const held = {
          ...w.inbound(w.outsider, 'hello, can I join?', { chat: 'lobby' }),
          sender: { id: 'sam', name: 'Sam' },
        };
        const outcome = await w.engine.request({
          kind: 'new_sender',
          agentGroupId: w.main.id,
          requestedBy: sam.id,
          payload: {
            userId: sam.id,
            senderName: 'Sam',
            channelType: 'rich',
            senderId: 'sam',
            messagingGroupId: lobby.id,
            chatName: null,
          },
          dedupeKey: `new_sender:${lobby.id}:${sam.id}`,
          hold: held,
          expiryAction,
        });
        if (!outcome.ok) throw new Error(outcome.error);
        return outcome.approval;
      },
      applied: (a) => isMember(w.db, (a.payload as { userId: string }).userId, w.main.id),
      requester: { chat: 'lobby' },
    },
    {
      kind: 'new_channel',
      async ask(expiryAction) {
        const room = createMessagingGroup(
          w.db,
          { channelType: 'rich', platformId: 'new-room', isGroup: true },
          w.now().toISOString(),
        );
        const outcome = await w.engine.request({
          kind: 'new_channel',
          requestedBy: w.outsider.user.id,
          payload: {
            messagingGroupId: room.id,
            channelType: 'rich',
            platformId: 'new-room',
            chatName: 'New room',
            isGroup: true,
            requestedByName: 'Mallory',
            suggestedAgentGroupId: w.main.id,
          },
          dedupeKey: `new_channel:${room.id}`,
          hold: w.inbound(w.outsider, '@bot hi', { chat: 'new-room' }),
          expiryAction,
        });
        if (!outcome.ok) throw new Error(outcome.error);
        return outcome.approval;
      },
      applied: (a) =>
        listWiringsForMessagingGroup(w.db, (a.payload as { messagingGroupId: string }).messagingGroupId)
          .length > 0,
      requester: { chat: 'new-room' },
    },
    {
      kind: 'install_packages',
      ask: (e) =>
        agentAsks('install_packages', { apt: ['jq'], npm: ['left-pad@1.3.0'], reason: 'parse JSON' }, e),
      applied: () =>
        JSON.stringify(getAgentGroup(w.db, w.main.id)!.containerConfig.packages ?? null).includes('jq'),
      requester: { sessionId: session },
    },
    {
      kind: 'add_mcp_server',
      ask: (e) =>
        agentAsks(
          'add_mcp_server',
          {
            name: 'weather',
            command: '/usr/bin/node',
            args: ['server.js', '--verbose'],
            env: { API_KEY: 'k-123', REGION: 'eu' },
          },
          e,
        ),
      applied: () =>
        'weather' in
        ((getAgentGroup(w.db, w.main.id)!.containerConfig.mcpServers as object | undefined) ?? {}),
      requester: { sessionId: session },
    },
    {
      kind: 'create_agent',
      ask: (e) =>
        agentAsks('create_agent', { name: 'Research Helper', instructions: 'You find sources.' }, e),
      applied: () => getAgentGroupByFolder(w.db, 'research-helper') !== undefined,
      requester: { sessionId: session },
    },
    {
      kind: 'agent_action',
      ask: (e) =>
        agentAsks(
          'agent_action',
          { action: 'send_invoice', summary: 'Invoice ACME', payload: { amount: 120, to: 'acme' } },
          e,
        ),
      applied: (a) => getApproval(w.db, a.id)!.status.endsWith('approved'),
      requester: { sessionId: session },
    },
  ];
}

/** The option values of the card `person` was shown for the approval, in order. */
function optionsShown(a: Approval, person: Person): string[] {
  const card = listCards(w.db, { approvalId: a.id }).find((c) => c.userId === person.user.id);
  if (!card) throw new Error(`no card for ${person.user.displayName}`);
  return card.options;
}

/** What the requester was told: the agent's system messages, or the host's messages to the chat. */
function told(c: KindCase): string[] {
  if ('chat' in c.requester) {
    const chat = c.requester.chat;
    return w.rich.sent
      .filter((m) => m.chatId === chat && m.kind === 'send')
      .map((m) => (m.kind === 'send' ? m.text : ''));
  }
  const session = w.session(w.main);
  return withSessionFile(session.paths, 'inbound', 'read', (db) =>
    db.prepare("SELECT content FROM messages_in WHERE kind = 'system'").pluck().all(),
  ) as string[];
}

const caseOf = (kind: ApprovalKind): KindCase => cases().find((k) => k.kind === kind)!;

/** Decides `a` through the API as `person`, with the payload hash it was asked with. */
const decideByApi = (
  a: Pick<Approval, 'id' | 'payloadHash'>,
  person: Person,
  decision: 'approve' | 'reject',
  editedPayload?: unknown,
) =>
  w.engine.submitDecision({
    approvalId: a.id,
    decision,
    decider: { userId: person.user.id },
    payloadHash: a.payloadHash,
    ...(editedPayload === undefined ? {} : { editedPayload }),
    via: 'api',
  });

const auditOf = (a: Approval) => listAuditEvents(w.db, { target: { kind: 'approval', id: a.id } });

describe.each(cases().map((c) => [c.kind, c] as const))('%s', (_kind, template) => {
  // The cases close over `w`; rebuild them for this test's world.
  const current = () => caseOf(template.kind);

  test('approved from a card button: applied once, audited with the payload hash, cards updated, requester told', async () => {
    const c = current();
    const a = await c.ask();
    expect(c.applied(a)).toBe(false);
    const approve = optionsShown(a, w.globalAdmin).find((v) => v.includes(':approve:'))!;
    expect(await w.engine.intercept(w.inbound(w.globalAdmin, '', { action: approve }))).toBe(true);
    await w.engine.settled();

    const decided = getApproval(w.db, a.id)!;
    expect(decided).toMatchObject({
      status: 'approved',
      decidedBy: w.globalAdmin.user.id,
      followupsDoneAt: expect.any(String),
    });
    expect(c.applied(decided)).toBe(true);
    expect(auditOf(a).find((e) => e.action === 'approval.decided')).toMatchObject({
      actor: w.globalAdmin.user.id,
      payloadHash: a.payloadHash,
      detail: expect.objectContaining({ status: 'approved', via: 'card' }),
    });
    // rich can edit its card; text gets a follow-up message instead.
    expect(
      w.rich.sent.some(
        (m) => m.kind === 'edit' && m.chatId === w.globalAdmin.dm && /approved by Gus/.test(m.text),
      ),
    ).toBe(true);
    expect(
      w.text.sent.some((m) => m.kind === 'send' && m.chatId === w.owner.dm && /approved by Gus/.test(m.text)),
    ).toBe(true);
    expect(told(c).join('\n')).toMatch(/approved|connected|let you in/);
  });

  test('rejected with a numbered reply on a channel without buttons: nothing applied, requester told', async () => {
    const c = current();
    const a = await c.ask();
    const shown = w.text.sent.find(
      (m) => m.chatId === w.owner.dm && m.kind === 'send' && m.text.includes(a.id),
    );
    expect(shown?.kind === 'send' && shown.card).toBeFalsy(); // numbered text, not a card
    const reject = optionsShown(a, w.owner).length; // the last option is Reject
    expect(await w.engine.intercept(w.inbound(w.owner, String(reject)))).toBe(true);
    await w.engine.settled();

    const decided = getApproval(w.db, a.id)!;
    expect(decided).toMatchObject({ status: 'rejected', decidedBy: w.owner.user.id });
    expect(c.applied(decided)).toBe(false);
    expect(auditOf(a).find((e) => e.action === 'approval.decided')?.detail).toMatchObject({
      via: 'text',
      status: 'rejected',
    });
    expect(told(c).join('\n')).toMatch(/rejected|not connect|did not let you in/);
  });

  test('expires to rejected by default: nothing applied, requester told, cards closed', async () => {
    const c = current();
    const a = await c.ask();
    w.advance(24 * HOUR + 1);
    await w.engine.tick();
    await w.engine.settled();
    const expired = getApproval(w.db, a.id)!;
    expect(expired).toMatchObject({ status: 'expired_rejected', decidedBy: 'expiry' });
    expect(c.applied(expired)).toBe(false);
    expect(listCards(w.db, { approvalId: a.id }).every((card) => card.closedAt !== null)).toBe(true);
    expect(told(c).join('\n')).toMatch(/expired_rejected|not connect|did not let you in/);
  });

  test('expires to approved only when the request said so, and then is applied', async () => {
    const c = current();
    const a = await c.ask('approve');
    w.advance(24 * HOUR + 1);
    await w.engine.tick();
    await w.engine.settled();
    const expired = getApproval(w.db, a.id)!;
    expect(expired.status).toBe('expired_approved');
    expect(c.applied(expired)).toBe(true);
    expect(auditOf(a).find((e) => e.action === 'approval.expired')?.detail).toMatchObject({
      status: 'expired_approved',
    });
  });

  test('an unauthorized decider changes nothing: card unchanged, attempt audited, polite refusal', async () => {
    const c = current();
    const a = await c.ask();
    const approve = optionsShown(a, w.globalAdmin).find((v) => v.includes(':approve:'))!;
    const sentBefore = { rich: w.rich.sent.length, text: w.text.sent.length };
    // Mallory holds no role; she forges the button's value.
    expect(await w.engine.intercept(w.inbound(w.outsider, '', { action: approve }))).toBe(true);
    await w.engine.settled();

    const after = getApproval(w.db, a.id)!;
    expect(after.status).toBe('pending');
    expect(c.applied(after)).toBe(false);
    expect(listCards(w.db, { approvalId: a.id }).every((card) => card.closedAt === null)).toBe(true);
    const newMessages = w.rich.sent.slice(sentBefore.rich);
    expect(newMessages).toHaveLength(1); // only the refusal, in Mallory's own chat
    expect(newMessages[0]).toMatchObject({
      kind: 'send',
      chatId: w.outsider.dm,
      // Refused on arrival: the card was never shown to her, in her chat or anywhere.
      text: expect.stringMatching(/^Sorry, this card was not shown to you in this chat/),
    });
    expect(w.text.sent.length).toBe(sentBefore.text);
    expect(auditOf(a).find((e) => e.action === 'approval.decision_refused')).toMatchObject({
      actor: w.outsider.user.id,
      payloadHash: a.payloadHash,
      detail: expect.objectContaining({ code: 'unauthorized', via: 'card' }),
    });
  });

  test('a payload changed after the card was shown is refused and not applied', async () => {
    const c = current();
    const a = await c.ask();
    const approve = optionsShown(a, w.globalAdmin).find((v) => v.includes(':approve:'))!;
    // Someone rewrites the stored payload (hash column untouched) after the card went out.
    const tampered = { ...(a.payload as Record<string, unknown>), tampered: true };
    w.db.prepare('UPDATE approvals SET payload = ? WHERE id = ?').run(JSON.stringify(tampered), a.id);
    expect(await w.engine.intercept(w.inbound(w.globalAdmin, '', { action: approve }))).toBe(true);
    await w.engine.settled();
    expect(getApproval(w.db, a.id)!.status).toBe('pending');
    expect(c.applied(getApproval(w.db, a.id)!)).toBe(false);
    expect(auditOf(a).find((e) => e.action === 'approval.decision_refused')?.detail).toMatchObject({
      code: 'payload_changed',
    });
    expect(w.rich.sent.at(-1)).toMatchObject({
      chatId: w.globalAdmin.dm,
      text: expect.stringMatching(/changed after it was shown/),
    });
  });
});

describe('what each kind does besides its row', () => {
  test('a new sender, once let in, has their held messages replayed in order; refused ones are recorded', async () => {
    const c = caseOf('new_sender');
    const a = await c.ask();
    const payload = a.payload as { userId: string; messagingGroupId: string };
    // A second message while pending: the same approval (no second card), held too.
    const again = await w.engine.request({
      kind: 'new_sender',
      agentGroupId: w.main.id,
      requestedBy: payload.userId,
      payload: a.payload,
      dedupeKey: a.dedupeKey!,
      hold: { ...w.inbound(w.outsider, 'anyone?', { chat: 'lobby' }), sender: { id: 'sam', name: 'Sam' } },
    });
    expect(again).toMatchObject({ ok: true, created: false, cardsSent: 0 });
    const approve = optionsShown(a, w.globalAdmin)[0]!;
    await w.engine.intercept(w.inbound(w.globalAdmin, '', { action: approve }));
    await w.engine.settled();
    expect(w.replayed.map((m) => m.text)).toEqual(['hello, can I join?', 'anyone?']);
  });

  test('a new chat is wired to the agent group the admin picked, and its requester becomes a member', async () => {
    const c = caseOf('new_channel');
    const a = await c.ask();
    const toOther = optionsShown(a, w.globalAdmin).find((v) => v.endsWith(`:${w.other.id}`))!;
    await w.engine.intercept(w.inbound(w.globalAdmin, '', { action: toOther }));
    await w.engine.settled();
    const room = (a.payload as { messagingGroupId: string }).messagingGroupId;
    expect(listWiringsForMessagingGroup(w.db, room).map((x) => x.agentGroupId)).toEqual([w.other.id]);
    expect(isMember(w.db, w.outsider.user.id, w.other.id)).toBe(true);
    expect(w.replayed.map((m) => m.text)).toEqual(['@bot hi']);
  });

  test('a rejected new chat is denied, so it stays quiet', async () => {
    const c = caseOf('new_channel');
    const a = await c.ask();
    await decideByApi(a, w.owner, 'reject');
    await w.engine.settled();
    expect(
      getMessagingGroup(w.db, (a.payload as { messagingGroupId: string }).messagingGroupId)!.deniedAt,
    ).not.toBeNull();
    expect(w.replayed).toEqual([]);
  });

  test('approved packages are recorded, the image rebuilt with them, and the group’s image set', async () => {
    const c = caseOf('install_packages');
    const a = await c.ask();
    await decideByApi(a, w.owner, 'approve');
    await w.engine.settled();
    expect(w.builds).toEqual([{ apt: ['jq'], npm: ['left-pad@1.3.0'] }]);
    expect(getAgentGroup(w.db, w.main.id)!.containerConfig).toMatchObject({
      packages: { apt: ['jq'], npm: ['left-pad@1.3.0'] },
      image: 'localhost/warren-agent-packages:1',
      imageBase: 'localhost/warren-agent:test',
      imageBuild: { status: 'ready' },
    });
    expect(told(c).join('\n')).toMatch(/packages_installed/);
  });

  test('the MCP server card shows the command, every argument and every environment entry', async () => {
    const c = caseOf('add_mcp_server');
    const a = await c.ask();
    for (const shown of [a.renderedEffect, cardBody(w.globalAdmin, a), numbered(w.owner, a)]) {
      expect(shown).toContain('command: "/usr/bin/node"');
      expect(shown).toContain('- "server.js"');
      expect(shown).toContain('- "--verbose"');
      expect(shown).toContain('API_KEY: "k-123"');
      expect(shown).toContain('REGION: "eu"');
    }
  });

  test('a created agent gets its folder, AGENT.md and a destination from the requesting agent', async () => {
    const c = caseOf('create_agent');
    const a = await c.ask();
    expect(a.renderedEffect).toContain('folder: "research-helper"');
    await decideByApi(a, w.globalAdmin, 'approve');
    await w.engine.settled();
    const created = getAgentGroupByFolder(w.db, 'research-helper')!;
    expect(listDestinations(w.db, w.main.id)).toMatchObject([
      { name: 'Research Helper', kind: 'agent', targetAgentGroupId: created.id },
    ]);
    const agentMd = join(w.groupsDir, 'research-helper', 'AGENT.md');
    expect(existsSync(agentMd) && readFileSync(agentMd, 'utf8')).toContain('You find sources.');
  });

  test('an agent action edited by the reviewer is applied as edited; the edit is recorded and audited', async () => {
    const c = caseOf('agent_action');
    const a = await c.ask();
    const edited = { action: 'send_invoice', summary: 'Invoice ACME', payload: { amount: 100, to: 'acme' } };
    const outcome = await decideByApi(a, w.owner, 'approve', edited);
    expect(outcome.ok).toBe(true);
    await w.engine.settled();
    const decided = getApproval(w.db, a.id)!;
    expect(decided.payload).toMatchObject({ payload: { amount: 120 } }); // before, kept
    expect(decided.appliedPayload).toEqual(edited); // after
    expect(decided.decision?.edited).toMatchObject({
      beforeHash: a.payloadHash,
      afterHash: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    expect(auditOf(a).find((e) => e.action === 'approval.decided')?.detail).toMatchObject({
      edited: decided.decision!.edited,
    });
    const note = JSON.parse(told(c).find((t) => t.includes('approval_decided'))!);
    expect(note).toMatchObject({ event: 'approval_decided', approved: true, edited: true, payload: edited });
  });

  test('only agent actions may be edited', async () => {
    const c = caseOf('add_mcp_server');
    const a = await c.ask();
    const outcome = await decideByApi(a, w.owner, 'approve', {
      name: 'weather',
      command: '/bin/sh',
      args: [],
      env: {},
    });
    expect(outcome).toMatchObject({ ok: false, code: 'invalid_edit' });
    expect(getApproval(w.db, a.id)!.status).toBe('pending');
  });

  test('an admin of another agent group may not decide; an admin of this one may', async () => {
    const a = await w.engine.request({
      kind: 'agent_action',
      agentGroupId: w.other.id,
      sessionId: w.session(w.other).id,
      requestedBy: `agent:${w.other.id}`,
      payload: { action: 'x', summary: 'y', payload: {} },
    });
    if (!a.ok) throw new Error(a.error);
    const onMain = await caseOf('agent_action').ask();
    expect(await decideByApi(onMain, w.otherAdmin, 'approve')).toMatchObject({
      ok: false,
      code: 'unauthorized',
    });
    expect(await decideByApi(a.approval, w.otherAdmin, 'approve')).toMatchObject({ ok: true });
    // Ada administers `other` only: she got the card for it, not the one for main.
    expect(listCards(w.db, { approvalId: a.approval.id }).map((x) => x.userId)).toContain(
      w.otherAdmin.user.id,
    );
    expect(listCards(w.db, { approvalId: onMain.id }).map((x) => x.userId)).not.toContain(
      w.otherAdmin.user.id,
    );
  });

  test('"approve <id>" typed in a DM decides with the hash that DM was shown; a typed reply elsewhere is refused', async () => {
    const a = await cases()
      .find((k) => k.kind === 'agent_action')!
      .ask();
    expect(
      await w.engine.intercept(
        w.inbound(w.globalAdmin, `approve ${a.id} looks fine`, { chat: 'somewhere-else' }),
      ),
    ).toBe(true);
    expect(getApproval(w.db, a.id)!.status).toBe('pending');
    expect(await w.engine.intercept(w.inbound(w.globalAdmin, `approve ${a.id} looks fine`))).toBe(true);
    expect(getApproval(w.db, a.id)).toMatchObject({ status: 'approved', note: 'looks fine' });
  });

  test('a second decision finds it decided and says so', async () => {
    const a = await cases()
      .find((k) => k.kind === 'agent_action')!
      .ask();
    const approve = optionsShown(a, w.globalAdmin).find((v) => v.includes(':approve:'))!;
    await w.engine.intercept(w.inbound(w.globalAdmin, '', { action: approve }));
    await w.engine.intercept(w.inbound(w.owner, '2'));
    await w.engine.settled();
    expect(getApproval(w.db, a.id)!.status).toBe('approved');
    expect(w.text.sent.at(-1)).toMatchObject({
      chatId: w.owner.dm,
      text: expect.stringMatching(/already decided \(approved by/),
    });
  });

  test('ordinary messages are not taken for decisions', async () => {
    await cases()
      .find((k) => k.kind === 'agent_action')!
      .ask();
    // In a chat with no numbered card, a number is just a number.
    expect(await w.engine.intercept(w.inbound(w.outsider, '1'))).toBe(false);
    expect(await w.engine.intercept(w.inbound(w.outsider, 'approve the plan, please'))).toBe(false);
  });

  test('a request too large to show in full is refused, not shortened', async () => {
    const outcome = await w.engine.request({
      kind: 'agent_action',
      agentGroupId: w.main.id,
      requestedBy: `agent:${w.main.id}`,
      payload: { action: 'x', summary: 'y', payload: { blob: 'x'.repeat(20_000) } },
    });
    expect(outcome).toMatchObject({ ok: false, error: expect.stringMatching(/too large to show in full/) });
  });
});

describe('who may click a card (checked when the click arrives)', () => {
  const agentAction = () =>
    cases()
      .find((k) => k.kind === 'agent_action')!
      .ask();

  test('an admin clicking in the chat where another admin was shown the card changes nothing', async () => {
    const a = await agentAction();
    const approve = optionsShown(a, w.owner).find((v) => v.includes(':approve:'))!;
    // Gus may decide it, and is who he says he is; but in Olga's chat, the card was Olga's.
    const inOlgasChat = {
      ...w.inbound(w.globalAdmin, '', { action: approve, chat: w.owner.dm }),
      channelType: w.owner.channel,
    };
    inOlgasChat.sender = { id: `user/${w.globalAdmin.user.id}`, userId: w.globalAdmin.user.id };
    expect(await w.engine.intercept(inOlgasChat)).toBe(true);
    await w.engine.settled();
    expect(getApproval(w.db, a.id)!.status).toBe('pending');
    expect(auditOf(a).find((e) => e.action === 'approval.decision_refused')?.detail).toMatchObject({
      code: 'unauthorized',
      reason: 'card_not_shown_to_decider',
    });
  });

  test('the admin a card was sent to, clicking it from another chat, changes nothing', async () => {
    const a = await agentAction();
    const approve = optionsShown(a, w.globalAdmin).find((v) => v.includes(':approve:'))!;
    const elsewhere = w.inbound(w.globalAdmin, '', { action: approve, chat: 'some-other-room' });
    expect(await w.engine.intercept(elsewhere)).toBe(true);
    await w.engine.settled();
    expect(getApproval(w.db, a.id)!.status).toBe('pending');
    // From the chat it was shown in, the same person decides it.
    expect(await w.engine.intercept(w.inbound(w.globalAdmin, '', { action: approve }))).toBe(true);
    await w.engine.settled();
    expect(getApproval(w.db, a.id)!.status).toBe('approved');
  });

  test("an anonymous web chat visitor, even one claiming an admin's account id in that admin's chat, changes nothing", async () => {
    const a = await agentAction();
    const approve = optionsShown(a, w.globalAdmin).find((v) => v.includes(':approve:'))!;
    const forged = w.inbound(w.globalAdmin, '', { action: approve });
    forged.sender = { ...forged.sender, anonymous: true };
    expect(await w.engine.intercept(forged)).toBe(true);
    await w.engine.settled();
    expect(getApproval(w.db, a.id)!.status).toBe('pending');
    expect(auditOf(a).find((e) => e.action === 'approval.decision_refused')?.detail).toMatchObject({
      reason: 'not_signed_in',
    });
  });

  test('a sender the channel authenticated (sender.userId) decides as that user, whatever its id says', async () => {
    const a = await agentAction();
    const approve = optionsShown(a, w.globalAdmin).find((v) => v.includes(':approve:'))!;
    const signedIn = w.inbound(w.globalAdmin, '', { action: approve });
    signedIn.sender = { id: `user/${w.globalAdmin.user.id}`, userId: w.globalAdmin.user.id };
    expect(await w.engine.intercept(signedIn)).toBe(true);
    await w.engine.settled();
    expect(getApproval(w.db, a.id)).toMatchObject({ status: 'approved', decidedBy: w.globalAdmin.user.id });
  });
});

function cardBody(person: Person, a: Approval): string {
  const m = w.rich.sent.find(
    (x) => x.chatId === person.dm && x.kind === 'send' && x.card?.body.includes(a.id),
  );
  return m?.kind === 'send' ? m.card!.body : '';
}

function numbered(person: Person, a: Approval): string {
  const m = w.text.sent.find((x) => x.chatId === person.dm && x.kind === 'send' && x.text.includes(a.id));
  return m?.kind === 'send' ? m.text : '';
}
