// Approvals and questions (DESIGN §7, docs/approvals.md): the front door. Other subsystems import
// this file only.
//
// How to use it (host composition in src/host/index.ts builds one engine):
//
//   const approvals = createApprovals({ db, clock, log, channels, dataDir, groupsDir, wake, replay, images });
//
//   // Ask admins for something. One row per request; a card to every approver (owner, global admins,
//   // admins of agentGroupId) in their DM. With dedupeKey, a second request while one is pending
//   // returns the pending one (created: false) and `hold` is added to its held messages.
//   await approvals.request({
//     kind: 'new_sender', agentGroupId, requestedBy: userId,
//     payload: { userId, senderName, channelType, senderId, messagingGroupId, chatName },
//     dedupeKey: `new_sender:${messagingGroupId}:${userId}`,
//     hold: inboundMessage,            // replayed through deps.replay once approved; dropped if not
//   });
//   await approvals.request({
//     kind: 'new_channel', requestedBy: userId,
//     payload: { messagingGroupId, channelType, platformId, chatName, isGroup, suggestedAgentGroupId? },
//     dedupeKey: `new_channel:${messagingGroupId}`, hold: inboundMessage,
//   });                                // approve → wired to the agent group the admin picks; reject → denied_at
//
//   // Before routing any inbound message: button clicks and numbered-text replies to cards are
//   // decisions/answers, never messages for an agent. true = consumed, do not route it.
//   if (await approvals.intercept(message)) return;
//
//   // Delivery hooks: agents' `op: 'action'` rows (request_approval, install_packages,
//   // add_mcp_server, create_agent) and `op: 'ask'` rows (ask_user_question).
//   createDelivery({ …, actions: combineActions(scheduler, approvals.actions), questions: approvals.questions });
//
//   // Sweep: expire due approvals and questions, finish follow-ups (replays, image builds, card
//   // updates, telling requesters) that a crash or the CLI left for the host.
//   await approvals.tick();
//
//   // Admin API: decide with the payload hash the decider saw; applied once, then followed up.
//   await approvals.submitDecision({ approvalId, decision: 'approve', payloadHash, decider: { userId }, via: 'api' });
//
//   // The CLI, with or without a running host: the decision's transaction alone; the host's next
//   // sweep finishes what follows it.
//   applyDecision(db, { approvalId, decision: 'approve', payloadHash, decider: { operator: 'cli:ada' }, via: 'cli' }, now);
import type { ApprovalKind, ExpiryAction } from '../../db/enums.ts';
import type { Approval } from '../../db/approvals.ts';
import type { InboundMessage } from '../channels/index.ts';

export type { Approval } from '../../db/approvals.ts';

/** What a requester asks for. The kind's handler validates the payload (zod) before anything is stored. */
export interface ApprovalRequest {
  kind: ApprovalKind;
  /** Admins of this agent group (besides owners and global admins) may decide; null: only those. */
  agentGroupId?: string | null;
  /** The agent's session when an agent asked: it is told the outcome there. */
  sessionId?: string | null;
  /** A user id, or `agent:<agentGroupId>` for an agent. */
  requestedBy: string;
  payload: unknown;
  /** Time to live; default `approvals.ttlMs` from config (24 h). */
  ttlMs?: number;
  /** What happens when nobody decides in time: reject (default, fail closed) or approve. */
  expiryAction?: ExpiryAction;
  /** One pending approval per key: a repeat returns the pending one. */
  dedupeKey?: string;
  /** An inbound message to replay into routing once approved (new_sender, new_channel). */
  hold?: InboundMessage;
}

export type RequestOutcome =
  { ok: true; approval: Approval; created: boolean; cardsSent: number } | { ok: false; error: string };

export type DecisionVia = 'card' | 'link' | 'text' | 'cli' | 'api' | 'expiry';

/** Who decides: a user (authorized by the access check when the decision arrives) or the operator's CLI. */
export type Decider = { userId: string } | { operator: string };

export interface DecisionInput {
  approvalId: string;
  decision: 'approve' | 'reject';
  decider: Decider;
  /** sha256 of the payload the decider saw (cards carry it, `warren approvals show` prints it). */
  payloadHash: string;
  note?: string;
  /** agent_action only: the reviewer's edited payload; recorded (before/after) and applied instead. */
  editedPayload?: unknown;
  /** Kinds with choices (new_channel: the agent group to connect); see the card's options. */
  choice?: string;
  via: DecisionVia;
}

export type DecisionRefusal =
  | 'not_found'
  | 'unauthorized'
  | 'already_decided'
  | 'expired'
  | 'payload_changed'
  | 'invalid_edit'
  | 'invalid_choice'
  | 'apply_failed';

export type DecisionOutcome =
  { ok: true; approval: Approval } | { ok: false; code: DecisionRefusal; error: string; approval?: Approval };

export { createApprovals, type Approvals, type ApprovalsDeps } from './engine.ts';
export { applyDecision } from './apply-decision.ts';
export { approvalLinkPage } from './link-page.ts';
export type { ApprovalLinks } from './approval-card.ts';
/** What the container subsystem starts: the group's approved MCP servers (add_mcp_server). */
export { approvedMcpServers } from './kinds/index.ts';
