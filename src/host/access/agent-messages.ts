// Agents messaging agents (messages_out rows of kind 'agent', the target agent group in platform_id).
// The host delivers each into a session of the target group as a messages_in row of kind 'agent',
// after three checks: the pair is allowed (a destination, or an answer to that agent), the chain of
// agent-to-agent messages is not too long (loop cap), and the pair is under its rate (rate cap).
// A refused message is recorded (dropped_messages, delivery_attempts, a log line) and the sending
// agent is told with a system row that does not start a turn: a notice that woke it would restart
// its chain and let a loop go on.
import { createHash } from 'node:crypto';
import type { Db } from '../../db/connection.ts';
import { finishAttempt, startAttempt } from '../../db/deliveries.ts';
import { listDestinations } from '../../db/destinations.ts';
import { recordDroppedMessage } from '../../db/dropped-messages.ts';
import type { DeliveryErrorCode, DropReason } from '../../db/enums.ts';
import { getAgentGroup } from '../../db/agent-groups.ts';
import { type MessageInRow } from '../../shared/session-contract.ts';
import { agentContent, parseContent } from '../../shared/session-content.ts';
import { getSession, type Session } from '../../db/sessions.ts';
import type { Logger } from '../logger.ts';
import {
  insertMessagesIn,
  writeSystemMessage,
  recordDelivered,
  sessionPaths,
  type OutboundRow,
  type SessionPaths,
  causeOf,
  latestTriggerOf,
  resolveSession,
} from '../sessions/index.ts';

export interface AgentMessageCaps {
  perPairPerMinute: number;
  maxHops: number;
}

export interface AgentMessagesDeps {
  db: Db;
  dataDir: string;
  clock: () => Date;
  log: Logger;
  caps: AgentMessageCaps;
  /** Starts a turn in the receiving session. */
  wake: (sessionId: string) => void;
}

export type AgentRefusal = Extract<
  DropReason,
  'agent_not_allowed' | 'agent_rate_capped' | 'agent_loop_capped'
>;

export type AgentDeliveryOutcome =
  | { status: 'delivered'; sessionId: string; messageId: string; hops: number }
  | { status: 'refused'; reason: AgentRefusal | 'invalid'; detail: string };

const RATE_WINDOW_MS = 60_000;

/** Pure: how many agent-to-agent messages in a row this one is, from the message that caused it. */
export function hopsAfter(cause: Pick<MessageInRow, 'kind' | 'content'> | undefined): number {
  if (cause?.kind !== 'agent') return 1;
  const parsed = parseContent(agentContent, cause.content);
  return (parsed.ok ? (parsed.value.hops ?? 1) : 1) + 1;
}

/** Pure: which cap, if any, refuses a message with `hops`, given the pair's sends in the last minute. */
export function capFor(
  hops: number,
  sentInWindow: number,
  caps: AgentMessageCaps,
): 'agent_loop_capped' | 'agent_rate_capped' | null {
  if (hops > caps.maxHops) return 'agent_loop_capped';
  if (sentInWindow >= caps.perPairPerMinute) return 'agent_rate_capped';
  return null;
}

export function createAgentMessages(deps: AgentMessagesDeps) {
  const { db, clock } = deps;
  // Sends per (from, to) pair in the last minute. In memory: a restart forgets at most one minute.
  const recent = new Map<string, number[]>();

  return { deliver };

  /** Delivers or refuses one outbound row of kind 'agent'; either way the row is settled. */
  function deliver(source: Session, sourcePaths: SessionPaths, row: OutboundRow): AgentDeliveryOutcome {
    const now = clock();
    const attempt = startAttempt(
      db,
      {
        sessionId: source.id,
        messageOutId: row.id,
        idempotencyKey: `${source.id}:${row.id}`,
        channelType: 'agent',
      },
      now.toISOString(),
    );
    const outcome = tryDeliver(source, sourcePaths, row, now);
    const at = clock().toISOString();
    if (outcome.status === 'delivered') {
      finishAttempt(db, attempt.id, { status: 'delivered', platformMessageId: outcome.messageId }, at);
      recordDelivered(sourcePaths, {
        messageOutId: row.id,
        platformMessageId: outcome.messageId,
        status: 'delivered',
        deliveredAt: at,
      });
      deps.wake(outcome.sessionId);
      return outcome;
    }
    settleRefused(deps, { source, sourcePaths, row, attemptId: attempt.id }, outcome, at);
    return outcome;
  }

  function tryDeliver(
    source: Session,
    sourcePaths: SessionPaths,
    row: OutboundRow,
    now: Date,
  ): AgentDeliveryOutcome {
    const to = row.platform_id;
    if (!row.op || row.op.op !== 'send' || row.op.files.length > 0 || row.op.card) {
      const what = !row.op ? row.error : 'only plain text messages can be sent to another agent';
      return { status: 'refused', reason: 'invalid', detail: what };
    }
    const cause = causeOf(sourcePaths, row);
    const answering = cause?.kind === 'agent' ? parseContent(agentContent, cause.content) : undefined;
    const repliesTo = answering?.ok ? answering.value : undefined;
    if (!to || !getAgentGroup(db, to) || !mayMessage(db, source.agentGroupId, to, repliesTo)) {
      return {
        status: 'refused',
        reason: 'agent_not_allowed',
        detail: `agent group ${to ?? '(none)'} is not one of this agent's destinations`,
      };
    }
    // The row's seq and in_reply_to are the container's choice: they may only raise the count. The
    // newest row that started a turn, which the host wrote, keeps an agent from resetting it.
    const hops = Math.max(hopsAfter(cause), hopsAfter(latestTriggerOf(sourcePaths)));
    const pair = `${source.agentGroupId}\u0000${to}`;
    const sent = (recent.get(pair) ?? []).filter((t) => t > now.getTime() - RATE_WINDOW_MS);
    recent.set(pair, sent);
    const capped = capRefusal(hops, sent.length, to, deps.caps);
    if (capped) return capped;
    sent.push(now.getTime());
    const message = { to, text: row.op.text, hops, repliesTo };
    return writeAgentMessage(deps, source, row.id, message, now);
  }
}

type Refused = Extract<AgentDeliveryOutcome, { status: 'refused' }>;

/** The refusal for a message over one of the caps, saying which and what happens now. */
function capRefusal(hops: number, sentInWindow: number, to: string, caps: AgentMessageCaps): Refused | null {
  const cap = capFor(hops, sentInWindow, caps);
  if (cap === 'agent_loop_capped') {
    return {
      status: 'refused',
      reason: cap,
      detail: `this would be agent message ${hops} in a row between agents (at most ${caps.maxHops}); the conversation between agents stops here`,
    };
  }
  if (cap === 'agent_rate_capped') {
    return {
      status: 'refused',
      reason: cap,
      detail: `at most ${caps.perPairPerMinute} messages a minute may go to agent group ${to}; try again later`,
    };
  }
  return null;
}

/** Writes an allowed message into the target group's session as a messages_in row of kind 'agent'. */
function writeAgentMessage(
  deps: AgentMessagesDeps,
  source: Session,
  messageOutId: string,
  message: { to: string; text: string; hops: number; repliesTo: { fromSession: string } | undefined },
  now: Date,
): AgentDeliveryOutcome {
  const { to, hops } = message;
  const target = targetSession(deps, to, message.repliesTo);
  const [written] = insertMessagesIn(target.paths, [
    {
      id: agentMessageId(source.id, messageOutId),
      kind: 'agent',
      timestamp: now.toISOString(),
      sourceSessionId: source.id,
      content: { text: message.text, fromAgentGroup: source.agentGroupId, fromSession: source.id, hops },
    },
  ]);
  deps.log.debug(
    { from: source.agentGroupId, to, hops, sessionId: target.session.id },
    'agent message delivered',
  );
  return { status: 'delivered', sessionId: target.session.id, messageId: written!.id, hops };
}

/**
 * Settles a refused row: the attempt fails, the drop is recorded and logged, and the sending agent
 * is told with a system row that does not start a turn.
 */
function settleRefused(
  deps: AgentMessagesDeps,
  sending: { source: Session; sourcePaths: SessionPaths; row: OutboundRow; attemptId: number },
  outcome: Refused,
  at: string,
): void {
  const { db, log } = deps;
  const { source, sourcePaths, row } = sending;
  const code: DeliveryErrorCode = ERROR_CODES[outcome.reason];
  finishAttempt(db, sending.attemptId, { status: 'failed', errorCode: code, error: outcome.detail }, at);
  recordDelivered(sourcePaths, {
    messageOutId: row.id,
    platformMessageId: null,
    status: 'failed',
    deliveredAt: at,
  });
  const to = row.platform_id ?? '';
  recordDroppedMessage(
    db,
    {
      channelType: 'agent',
      chatId: to || '-',
      senderId: source.agentGroupId,
      reason: outcome.reason === 'invalid' ? 'invalid_message' : outcome.reason,
      messageId: row.id,
    },
    at,
  );
  log.warn(
    { from: source.agentGroupId, to, sessionId: source.id, messageOutId: row.id, reason: outcome.reason },
    `agent message refused: ${outcome.detail}`,
  );
  writeSystemMessage(sourcePaths, {
    timestamp: at,
    trigger: false,
    content: {
      event: 'agent_message_refused',
      messageOutId: row.id,
      seq: row.seq,
      to,
      reason: outcome.reason,
      error: outcome.detail,
    },
  });
}

/** A destination names the target, or this is an answer to a message that target sent. */
function mayMessage(
  db: Db,
  from: string,
  to: string,
  repliesTo: { fromAgentGroup: string } | undefined,
): boolean {
  if (repliesTo?.fromAgentGroup === to) return true;
  return listDestinations(db, from).some((d) => d.kind === 'agent' && d.targetAgentGroupId === to);
}

/**
 * An answer goes back into the session that asked (while it is active); anything else into the
 * target group's agent-shared session, created on first use.
 */
function targetSession(deps: AgentMessagesDeps, to: string, repliesTo: { fromSession: string } | undefined) {
  const { db } = deps;
  const asked = repliesTo && getSession(db, repliesTo.fromSession);
  if (asked && asked.agentGroupId === to && asked.status === 'active') {
    return { session: asked, paths: sessionPaths(deps.dataDir, asked.agentGroupId, asked.id) };
  }
  const nowhere = { channelType: null, platformId: null, threadId: null };
  const key = { agentGroupId: to, messagingGroupId: null, threadId: null };
  return resolveSession(db, deps.dataDir, key, nowhere, deps.clock().toISOString());
}

export type AgentMessages = ReturnType<typeof createAgentMessages>;

const ERROR_CODES: Record<AgentRefusal | 'invalid', DeliveryErrorCode> = {
  agent_not_allowed: 'destination_denied',
  agent_rate_capped: 'rate_limited',
  agent_loop_capped: 'forbidden',
  invalid: 'unsupported',
};

/** One id per (sending session, outbound row): delivering the same row twice writes it once. */
function agentMessageId(sessionId: string, messageOutId: string): string {
  const digest = createHash('sha256').update(`${sessionId}\u0000${messageOutId}`).digest('base64url');
  return `in_${digest.slice(0, 24)}`;
}
