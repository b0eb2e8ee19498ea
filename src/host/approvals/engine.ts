// The approvals engine: requests (validated, rendered in full, stored, carded to every approver),
// decisions from cards, typed replies, the CLI and the API (decide.ts), expiry, and the follow-ups
// that come after a decision: updating cards, telling the requester, replaying held messages,
// building images. Follow-ups owed are recorded in the database (followups_done_at), so a decision
// made by the CLI, or one cut short by a crash, is finished by the host's next sweep.
import { appendAuditEvent } from '../../db/audit.ts';
import { findLastNumberedCard, listCards } from '../../db/approval-cards.ts';
import {
  createApproval,
  findLatestApprovalByKey,
  findPendingApprovalByKey,
  getApproval,
  listExpiredApprovals,
  listOwedFollowups,
  markFollowupsDone,
  type Approval,
  type NewApproval,
} from '../../db/approvals.ts';
import { getAgentGroup, listAgentGroups, updateAgentGroup } from '../../db/agent-groups.ts';
import type { Db } from '../../db/connection.ts';
import type { ApprovalKind } from '../../db/enums.ts';
import { recordDroppedMessage } from '../../db/dropped-messages.ts';
import { holdMessage, listHeldMessages, releaseHeldMessage } from '../../db/held-messages.ts';
import {
  approvalActionPayloads,
  isApprovalAction,
  type ApprovalAction,
} from '../../shared/session-content.ts';
import { getSession } from '../../db/sessions.ts';
import { findUserByIdentity, getUser } from '../../db/users.ts';
import type { InboundMessage } from '../channels/channel.ts';
import type { ChannelRegistry } from '../channels/registry.ts';
import type { PackageSet } from '../containers/index.ts';
import type { Logger } from '../logger.ts';
import { recordDelivered, sessionPaths, withSessionFile, type SessionPaths } from '../sessions/index.ts';
import { dmTargets, listApprovers } from './approvers.ts';
import { createCards, type CardSpec } from './cards.ts';
import { decide as decideApproval, expire } from './decide.ts';
import { fromStored, toStored, type StoredMessage } from './held.ts';
import type {
  ApprovalRequest,
  DecisionInput,
  DecisionOutcome,
  DecisionVia,
  RequestOutcome,
} from './index.ts';
import { KIND_HANDLERS, packagesOf, type FollowUpContext } from './kinds/index.ts';
import { createQuestions } from './questions.ts';
import { renderEffect, MAX_RENDERED_CHARS } from './render.ts';
import { approvalOptionValue, parseOptionValue, parseTextReply, type OptionIntent } from './replies.ts';
import { tellAgent } from './tell-agent.ts';
import { errorText } from '../../shared/error-text.ts';

export interface ApprovalsSettings {
  /** Time to live of a request that names none. */
  ttlMs: number;
  /** The longest time to live a request may ask for. */
  maxTtlMs: number;
}

export const DEFAULT_APPROVALS: ApprovalsSettings = { ttlMs: 24 * 3_600_000, maxTtlMs: 30 * 86_400_000 };

export interface ApprovalsDeps {
  db: Db;
  dataDir: string;
  groupsDir: string;
  channels: ChannelRegistry;
  clock: () => Date;
  log: Logger;
  /** Starts a turn in a session (the agent must read an outcome). */
  wake(sessionId: string): void;
  /** Routes a held message again, past the dedup claim its first arrival took (the access router). */
  replay?(message: InboundMessage): Promise<unknown>;
  /** Builds agent images with packages (install_packages); without it such builds fail. */
  images?: { baseTag: string; build(packages: PackageSet): Promise<string> };
  settings?: Partial<ApprovalsSettings>;
}

/** Agent actions and the approval kind each becomes. */
const ACTION_KINDS: Record<ApprovalAction, ApprovalKind> = {
  request_approval: 'agent_action',
  install_packages: 'install_packages',
  add_mcp_server: 'add_mcp_server',
  create_agent: 'create_agent',
};

/** A typed "1" answers the last numbered card of the chat for this long after it was closed (to refuse it). */
const LATE_REPLY_WINDOW_MS = 24 * 3_600_000;
/** A follow-up failing this many times in a row is given up on (logged): the sweep must not spin on it. */
const MAX_FOLLOWUP_FAILURES = 5;

export function createApprovals(deps: ApprovalsDeps) {
  const { db, clock, log } = deps;
  const settings = { ...DEFAULT_APPROVALS, ...deps.settings };
  const cards = createCards(deps);
  const questions = createQuestions({ ...deps, cards });
  const inFlight = new Map<string, Promise<void>>();
  const failures = new Map<string, number>();
  const builds = new Map<string, Promise<unknown>>();

  return {
    request,
    decide,
    intercept,
    tick,
    rebuildStaleImages,
    /** Resolves once every follow-up started so far has finished (tests, shutdown). */
    settled: async () => {
      while (inFlight.size > 0) await Promise.allSettled([...inFlight.values()]);
    },
    /** Delivery's hook for agents' `op: 'action'` rows. */
    actions: { handles: isApprovalAction, apply: applyAgentAction },
    /** Delivery's hook for `op: 'ask'` rows. */
    questions: { ask: questions.ask },
  };

  async function request(req: ApprovalRequest): Promise<RequestOutcome> {
    const handler = KIND_HANDLERS[req.kind];
    if (!handler) return { ok: false, error: `approvals of kind ${req.kind} are not handled by this host` };
    const agentGroupId = req.agentGroupId ?? null;
    if (handler.needsAgentGroup && !agentGroupId) {
      return { ok: false, error: `a ${req.kind} request must name its agent group` };
    }
    if (agentGroupId && !getAgentGroup(db, agentGroupId)) {
      return { ok: false, error: `there is no agent group ${agentGroupId}` };
    }
    const parsed = handler.schema.safeParse(req.payload);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      return { ok: false, error: `${req.kind}: ${issue?.path.join('.') || 'payload'}: ${issue?.message}` };
    }
    const payload = handler.prepare ? handler.prepare(parsed.data, db, { agentGroupId }) : parsed.data;
    const ttlMs = req.ttlMs ?? settings.ttlMs;
    if (!(Number.isInteger(ttlMs) && ttlMs >= 1000 && ttlMs <= settings.maxTtlMs)) {
      return { ok: false, error: `ttlMs must be a whole number from 1000 to ${settings.maxTtlMs}` };
    }
    const rendered = renderEffect(handler.effect(payload, db, agentGroupId), payload);
    if (rendered.length > MAX_RENDERED_CHARS) {
      return {
        ok: false,
        error: `the request is too large to show in full on a card (${rendered.length} characters, at most ${MAX_RENDERED_CHARS}); nothing was asked`,
      };
    }
    const now = clock();
    const nowIso = now.toISOString();
    const { approval, created } = db
      .transaction(() => {
        const pending = req.dedupeKey ? findPendingApprovalByKey(db, req.dedupeKey) : undefined;
        const row =
          pending ??
          createApproval(
            db,
            {
              kind: req.kind,
              agentGroupId,
              sessionId: req.sessionId ?? null,
              requestedBy: req.requestedBy,
              payload: payload as NewApproval['payload'],
              renderedEffect: rendered,
              expiresAt: new Date(now.getTime() + ttlMs).toISOString(),
              expiryAction: req.expiryAction ?? 'reject',
              dedupeKey: req.dedupeKey ?? null,
            },
            nowIso,
          );
        if (!pending) {
          appendAuditEvent(
            db,
            {
              actor: req.requestedBy,
              action: 'approval.requested',
              targetKind: 'approval',
              targetId: row.id,
              payloadHash: row.payloadHash,
              detail: { kind: row.kind, expiresAt: row.expiresAt, expiryAction: row.expiryAction },
            },
            nowIso,
          );
        }
        if (req.hold) holdMessage(db, row.id, req.hold.platformMessageId, toStored(req.hold), nowIso);
        return { approval: row, created: !pending };
      })
      .immediate();
    const cardsSent = created ? await sendCards(approval) : 0;
    if (created) log.info({ approvalId: approval.id, kind: approval.kind, cardsSent }, 'approval requested');
    return { ok: true, approval, created, cardsSent };
  }

  async function sendCards(approval: Approval): Promise<number> {
    const spec = cardFor(approval);
    let sent = 0;
    for (const userId of listApprovers(db, approval.agentGroupId)) {
      for (const target of dmTargets(db, userId, capabilitiesOf)) if (await cards.send(target, spec)) sent++;
    }
    if (sent === 0) {
      log.warn(
        { approvalId: approval.id, kind: approval.kind },
        'no approver could be shown a card; decide with `warren approvals` or the admin API',
      );
    }
    return sent;
  }

  function cardFor(approval: Approval): CardSpec {
    const handler = KIND_HANDLERS[approval.kind]!;
    const hash = approval.payloadHash;
    const choices = handler.choices?.(approval.payload, db) ?? [];
    const approve = choices.length
      ? choices.map((c) => ({
          label: c.label,
          value: approvalOptionValue(approval.id, 'approve', hash, c.value),
        }))
      : [{ label: 'Approve', value: approvalOptionValue(approval.id, 'approve', hash) }];
    const then = approval.expiryAction === 'approve' ? 'APPROVED' : 'rejected';
    return {
      subject: { approvalId: approval.id },
      title: `Approval needed: ${handler.title}`,
      body: [
        approval.renderedEffect,
        '',
        `Asked by ${nameOf(approval.requestedBy)}. If nobody decides by ${approval.expiresAt}, it is ${then}.`,
        `Approval ${approval.id}, payload sha256 ${hash}`,
      ].join('\n'),
      options: [...approve, { label: 'Reject', value: approvalOptionValue(approval.id, 'reject', hash) }],
      textHint: `Reply with the number, or "approve ${approval.id}" / "reject ${approval.id} <reason>".`,
      payloadHash: hash,
    };
  }

  async function decide(input: DecisionInput): Promise<DecisionOutcome> {
    const outcome = decideApproval(db, input, clock().toISOString());
    if (outcome.ok) {
      log.info(
        { approvalId: input.approvalId, status: outcome.approval.status, via: input.via },
        'approval decided',
      );
      void followUp(outcome.approval.id);
    } else {
      log.warn({ approvalId: input.approvalId, code: outcome.code, via: input.via }, 'decision refused');
      // Refused as expired and settled on the spot: close its cards and tell the requester now.
      if (outcome.code === 'expired') void followUp(input.approvalId);
    }
    return outcome;
  }

  /**
   * Before routing: a click on a card option, the option's value typed back (the terminal chat does
   * that), a number answering the chat's last numbered card, or "approve|reject <id>". Consumed
   * messages (true) are decisions or answers, never messages for an agent.
   */
  async function intercept(message: InboundMessage): Promise<boolean> {
    const chat = {
      channelType: message.channelType,
      platformId: message.chat.id,
      threadId: message.threadId,
    };
    let intent: OptionIntent | undefined = parseOptionValue(message.action?.value ?? message.text);
    let via: DecisionVia = 'card';
    let note: string | undefined;
    if (!intent) {
      const reply = parseTextReply(message.text);
      if (!reply) return false;
      via = 'text';
      if (reply.type === 'number') {
        const card = lastNumberedCard(message.channelType, message.chat.id);
        if (!card) return false;
        const value = card.options[reply.n - 1];
        if (!value) {
          await answerChat(message, `Please reply with a number from 1 to ${card.options.length}.`);
          return true;
        }
        intent = parseOptionValue(value);
      } else {
        const approval = getApproval(db, reply.approvalId);
        if (!approval && !reply.approvalId.startsWith('apr_')) return false;
        const shown = approval
          ? listCards(db, { approvalId: approval.id }).filter(
              (c) => c.channelType === message.channelType && c.chatId === message.chat.id,
            )
          : [];
        const seen = shown.at(-1)?.payloadHash;
        if (!approval || !seen) {
          await answerChat(
            message,
            `No card for ${reply.approvalId} was shown in this chat; decide it with \`warren approvals\` or the admin API.`,
          );
          return true;
        }
        intent = { type: 'approval', approvalId: approval.id, decision: reply.decision, payloadHash: seen };
        note = reply.note;
      }
      if (!intent) return false;
    }
    // Who clicked, as the channel authenticated them (DESIGN §10), never as a body field claims.
    const user = message.sender.userId
      ? getUser(db, message.sender.userId)
      : findUserByIdentity(db, message.channelType, message.sender.id);
    const actor = user?.id ?? `${message.channelType}:${message.sender.id}`;
    if (intent.type === 'question') {
      // A question is answered in the conversation it was asked in, nowhere else.
      if (!shownIn({ questionId: intent.questionId }, message)) {
        await refuseClick(message, actor, 'question', intent.questionId, 'card_not_shown_here', via);
        return true;
      }
      await questions.answer(
        intent.questionId,
        intent.option,
        {
          userId: user?.id ?? null,
          actor: user?.id ?? `${message.channelType}:${message.sender.id}`,
          name: message.sender.name,
        },
        chat,
      );
      return true;
    }
    // An approval card is decided only by the person it was sent to, from the chat it was shown in;
    // their role is then checked again by decide(), inside the transaction. Checked before anything
    // changes: a replayed option value from anyone else is refused here.
    if (!user || message.sender.anonymous || !shownIn({ approvalId: intent.approvalId }, message, user.id)) {
      await refuseClick(
        message,
        actor,
        'approval',
        intent.approvalId,
        !user || message.sender.anonymous ? 'not_signed_in' : 'card_not_shown_to_decider',
        via,
      );
      return true;
    }
    const outcome = await decide({
      approvalId: intent.approvalId,
      decision: intent.decision,
      decider: { userId: user.id },
      payloadHash: intent.payloadHash,
      ...(intent.choice ? { choice: intent.choice } : {}),
      ...(note ? { note } : {}),
      via,
    });
    if (!outcome.ok) await answerChat(message, refusalText(outcome));
    return true;
  }

  /**
   * Whether a card of the subject was shown in the message's chat (and, given a user, to that user):
   * a click or reply from anywhere else is no answer to it.
   */
  function shownIn(
    subject: { approvalId: string } | { questionId: string },
    message: InboundMessage,
    userId?: string,
  ): boolean {
    return listCards(db, subject).some(
      (card) =>
        card.channelType === message.channelType &&
        card.chatId === message.chat.id &&
        (userId === undefined || card.userId === userId),
    );
  }

  /** A click or reply that is nobody's to make here: audited, answered politely, nothing changed. */
  async function refuseClick(
    message: InboundMessage,
    actor: string,
    kind: 'approval' | 'question',
    id: string,
    reason: 'not_signed_in' | 'card_not_shown_here' | 'card_not_shown_to_decider',
    via: DecisionVia,
  ): Promise<void> {
    const now = clock().toISOString();
    const approval = kind === 'approval' ? getApproval(db, id) : undefined;
    appendAuditEvent(
      db,
      {
        actor,
        action: kind === 'approval' ? 'approval.decision_refused' : 'question.answer_refused',
        targetKind: kind,
        targetId: id,
        payloadHash: approval?.payloadHash ?? null,
        detail: { code: 'unauthorized', via, reason, channel: message.channelType },
      },
      now,
    );
    log.warn({ kind, id, reason, channel: message.channelType }, 'card click refused');
    await answerChat(
      message,
      reason === 'not_signed_in'
        ? 'Sorry, only a signed-in person this card was sent to can decide it. Nothing was changed.'
        : 'Sorry, this card was not shown to you in this chat, so your choice was not applied. Nothing was changed.',
    );
  }

  function lastNumberedCard(channelType: string, chatId: string) {
    const since = new Date(clock().getTime() - LATE_REPLY_WINDOW_MS).toISOString();
    return findLastNumberedCard(db, channelType, chatId, since);
  }

  async function answerChat(message: InboundMessage, text: string): Promise<void> {
    await cards.tell(
      { channelType: message.channelType, chatId: message.chat.id, threadId: message.threadId },
      text,
      `reply:${message.chat.id}:${message.platformMessageId}`,
      message.platformMessageId,
    );
  }

  /** The sweep's share: expire what is due, finish owed follow-ups. Index reads only when idle. */
  async function tick(): Promise<{ expired: number; questionsExpired: number }> {
    const now = clock().toISOString();
    let expired = 0;
    for (const approval of listExpiredApprovals(db, now, 50)) {
      if (expire(db, approval.id, now)) {
        expired++;
        log.info({ approvalId: approval.id, kind: approval.kind }, 'approval expired');
      }
    }
    const questionsExpired = await questions.expireDue();
    for (const approval of listOwedFollowups(db, 20)) void followUp(approval.id);
    return { expired, questionsExpired };
  }

  /** What follows a decision, once per approval at a time; safe to run again after a crash. */
  function followUp(approvalId: string): Promise<void> {
    const running = inFlight.get(approvalId);
    if (running) return running;
    const work = runFollowUp(approvalId)
      .then(() => void failures.delete(approvalId))
      .catch((err: unknown) => {
        const count = (failures.get(approvalId) ?? 0) + 1;
        failures.set(approvalId, count);
        if (count < MAX_FOLLOWUP_FAILURES) {
          log.warn({ approvalId, err, attempt: count }, 'approval follow-up failed; the sweep tries again');
          return;
        }
        log.error({ approvalId, err }, 'approval follow-up keeps failing; given up');
        markFollowupsDone(db, approvalId, clock().toISOString());
      })
      .finally(() => inFlight.delete(approvalId));
    inFlight.set(approvalId, work);
    return work;
  }

  async function runFollowUp(approvalId: string): Promise<void> {
    const approval = getApproval(db, approvalId);
    if (!approval || approval.status === 'pending' || approval.followupsDoneAt) return;
    const handler = KIND_HANDLERS[approval.kind];
    const approved = approval.status === 'approved' || approval.status === 'expired_approved';
    const payload = approval.appliedPayload ?? approval.payload;
    await cards.closeAll({ approvalId: approval.id }, closingText(approval));
    if (approval.sessionId) {
      tellAgent(
        deps,
        approval.sessionId,
        {
          event: 'approval_decided',
          approvalId: approval.id,
          kind: approval.kind,
          status: approval.status,
          approved,
          payload,
          ...(approval.decision?.edited ? { edited: true } : {}),
          ...(approval.note ? { note: approval.note } : {}),
          decidedBy: nameOf(approval.decidedBy ?? 'expiry'),
          ...requestSeqOf(approval),
        },
        `${approval.id}:decided`,
      );
    }
    const ctx = followUpContext(approval);
    if (handler?.followUp) await handler.followUp(ctx, approval, payload, approved);
    else await ctx.releaseHeld(false, 'sender_rejected');
    markFollowupsDone(db, approval.id, clock().toISOString());
  }

  function followUpContext(approval: Approval): FollowUpContext {
    return {
      db,
      now: () => clock().toISOString(),
      groupsDir: deps.groupsDir,
      async releaseHeld(replay, dropReason) {
        let released = 0;
        for (const held of listHeldMessages(db, approval.id)) {
          const message = fromStored(held.message as StoredMessage);
          if (replay && deps.replay) await deps.replay(message);
          else {
            if (replay)
              log.warn({ approvalId: approval.id }, 'no router to replay held messages into; dropped');
            recordDroppedMessage(
              db,
              {
                channelType: message.channelType,
                chatId: message.chat.id,
                senderId: message.sender.id,
                reason: dropReason,
                messageId: message.platformMessageId,
              },
              clock().toISOString(),
            );
          }
          if (releaseHeldMessage(db, held.id, clock().toISOString())) released++;
        }
        return released;
      },
      rebuildImage,
      tellAgent(content, key) {
        if (approval.sessionId) tellAgent(deps, approval.sessionId, content, key);
      },
      async tellChat(chat, text, key) {
        await cards.tell(
          { channelType: chat.channelType, chatId: chat.platformId, threadId: chat.threadId },
          text,
          key,
        );
      },
    };
  }

  /**
   * Rebuilds the group's image with every package its container_config lists; one build per group
   * at a time (a second approval's build waits and then includes both). The group's next containers
   * use the image once it is recorded.
   */
  function rebuildImage(
    agentGroupId: string,
  ): Promise<{ ok: true; image: string } | { ok: false; error: string }> {
    const previous = builds.get(agentGroupId) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(() => buildNow(agentGroupId));
    builds.set(agentGroupId, next);
    // The caller gets the outcome (or the failure) through `next`; this bookkeeping copy must not
    // become an unhandled rejection of its own.
    next
      .finally(() => builds.get(agentGroupId) === next && builds.delete(agentGroupId))
      .catch(() => undefined);
    return next;
  }

  async function buildNow(
    agentGroupId: string,
  ): Promise<{ ok: true; image: string } | { ok: false; error: string }> {
    const group = getAgentGroup(db, agentGroupId);
    if (!group) return { ok: false, error: `agent group ${agentGroupId} no longer exists` };
    const images = deps.images;
    const record = (imageBuild: Record<string, string>, image?: { tag: string; base: string }) => {
      const current = getAgentGroup(db, agentGroupId);
      if (!current) return;
      const config = { ...current.containerConfig, imageBuild };
      if (image) Object.assign(config, { image: image.tag, imageBase: image.base });
      updateAgentGroup(db, agentGroupId, { containerConfig: config }, clock().toISOString());
    };
    if (!images) {
      const error = 'this host cannot build images (no container engine)';
      record({ status: 'failed', error, at: clock().toISOString() });
      return { ok: false, error };
    }
    try {
      const tag = await images.build(packagesOf(group));
      record({ status: 'ready', tag, at: clock().toISOString() }, { tag, base: images.baseTag });
      log.info({ agentGroupId, image: tag }, 'agent group image ready');
      return { ok: true, image: tag };
    } catch (err) {
      const error = errorText(err);
      record({ status: 'failed', error: error.slice(0, 1000), at: clock().toISOString() });
      log.error({ agentGroupId, err }, 'agent group image build failed');
      return { ok: false, error };
    }
  }

  /** At start-up: groups whose package image was built on another base (Node or the recipe changed). */
  function rebuildStaleImages(): void {
    if (!deps.images) return;
    for (const group of listAgentGroups(db)) {
      const packages = packagesOf(group);
      if (packages.apt.length + packages.npm.length === 0) continue;
      if (group.containerConfig.imageBase === deps.images.baseTag) continue;
      log.info({ agentGroupId: group.id }, 'agent group image is out of date; rebuilding');
      rebuildImage(group.id).catch((err: unknown) =>
        log.error({ agentGroupId: group.id, err }, 'agent group image rebuild failed'),
      );
    }
  }

  /** Delivery hands over an agent's request_approval, install_packages, add_mcp_server, create_agent. */
  async function applyAgentAction(
    sessionId: string,
    row: { id: string; action: string; payload: Record<string, unknown> },
  ): Promise<void> {
    const session = getSession(db, sessionId);
    if (!session || !isApprovalAction(row.action)) return;
    const paths = sessionPaths(deps.dataDir, session.agentGroupId, session.id);
    const dedupeKey = `action:${sessionId}:${row.id}`;
    const done = (status: 'delivered' | 'failed') =>
      recordDelivered(paths, {
        messageOutId: row.id,
        platformMessageId: null,
        status,
        deliveredAt: clock().toISOString(),
      });
    if (findLatestApprovalByKey(db, dedupeKey)) return void done('delivered'); // asked before a crash
    // The runner checked it too; the host never trusts it.
    const checked = approvalActionPayloads[row.action].safeParse(row.payload);
    const outcome = checked.success
      ? await request({
          kind: ACTION_KINDS[row.action],
          agentGroupId: session.agentGroupId,
          sessionId,
          requestedBy: `agent:${session.agentGroupId}`,
          payload: checked.data,
          dedupeKey,
        })
      : {
          ok: false as const,
          error: `${row.action}: ${checked.error.issues[0]?.message ?? 'invalid payload'}`,
        };
    if (outcome.ok) return void done('delivered');
    done('failed');
    log.warn(
      { sessionId, action: row.action, error: outcome.error },
      'approval request refused; the agent is told',
    );
    tellAgent(
      deps,
      sessionId,
      { event: 'approval_request_refused', action: row.action, messageOutId: row.id, error: outcome.error },
      `refused:${row.id}`,
    );
  }

  /** The seq of the agent's request row, so the agent can tell which request this answers. */
  function requestSeqOf(approval: Approval): { requestSeq?: number } {
    const rowId = approval.dedupeKey?.startsWith(`action:${approval.sessionId}:`)
      ? approval.dedupeKey.slice(`action:${approval.sessionId}:`.length)
      : undefined;
    const session = approval.sessionId ? getSession(db, approval.sessionId) : undefined;
    if (!rowId || !session) return {};
    try {
      const paths: SessionPaths = sessionPaths(deps.dataDir, session.agentGroupId, session.id);
      const seq = withSessionFile(paths, 'outbound', 'read', (sdb) =>
        sdb.prepare('SELECT seq FROM messages_out WHERE id = ?').pluck().get(rowId),
      ) as number | undefined;
      return seq === undefined ? {} : { requestSeq: seq };
    } catch {
      return {};
    }
  }

  function closingText(approval: Approval): string {
    const title = KIND_HANDLERS[approval.kind]?.title ?? approval.kind;
    const who = nameOf(approval.decidedBy ?? 'expiry');
    const verdict: Record<string, string> = {
      approved: `approved by ${who}`,
      rejected: `rejected by ${who}`,
      expired_approved: 'approved automatically: nobody decided in time',
      expired_rejected: 'rejected automatically: nobody decided in time',
      cancelled: 'cancelled',
    };
    const edited = approval.decision?.edited ? ' (with changes)' : '';
    const note = approval.note ? `\nNote: ${approval.note}` : '';
    return `${title} (${approval.id}): ${verdict[approval.status] ?? approval.status}${edited}.${note}`;
  }

  /** A user's display name, an agent group's name, or the actor as recorded. */
  function nameOf(actor: string): string {
    if (actor === 'expiry') return 'nobody (expired)';
    if (actor.startsWith('agent:')) {
      const group = getAgentGroup(db, actor.slice('agent:'.length));
      return group ? `agent "${group.name}"` : actor;
    }
    if (actor.startsWith('cli:')) return `${actor.slice(4)} (CLI)`;
    const user = getUser(db, actor);
    return user?.displayName ? `${user.displayName} (${actor})` : actor;
  }

  function capabilitiesOf(channelType: string): number | undefined {
    try {
      return deps.channels.get(channelType).capabilities;
    } catch {
      return undefined;
    }
  }
}

function refusalText(outcome: Extract<DecisionOutcome, { ok: false }>): string {
  switch (outcome.code) {
    case 'unauthorized':
      return `Sorry, ${outcome.error.replace(/^you may not decide this approval: /, 'you may not decide this: ')}. Nothing was changed.`;
    case 'already_decided':
      return `This was already decided: ${outcome.error}.`;
    case 'payload_changed':
      return `Not applied: ${outcome.error}.`;
    default:
      return `Not applied: ${outcome.error}.`;
  }
}

export type Approvals = ReturnType<typeof createApprovals>;
