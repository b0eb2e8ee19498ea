// The approvals engine, composed: requests (requests.ts) shown on cards (approval-card.ts, cards.ts),
// decisions from cards and typed replies (chat-replies.ts), the CLI and the API, each applied once in
// a transaction (apply-decision.ts), expiry (expiry.ts), and what follows a decision
// (follow-ups.ts: closing cards, telling the requester, replaying held messages, package images).
// Questions (questions.ts) share the cards and the sweep.
import type { Db } from '../../db/connection.ts';
import { isApprovalAction } from '../../shared/session-content.ts';
import { type InboundMessage, type ChannelRegistry } from '../channels/index.ts';
import type { SendHostMessage } from '../delivery/index.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics/index.ts';
import { sendApprovalCards, type ApprovalLinks } from './approval-card.ts';
import { applyDecision } from './apply-decision.ts';
import { createCards } from './cards.ts';
import { interceptCardReply } from './chat-replies.ts';
import { expireDueApprovals } from './expiry.ts';
import { createFollowUps } from './follow-ups.ts';
import type { Approval, ApprovalRequest, DecisionInput, DecisionOutcome } from './index.ts';
import { createPackageImages, type PackageImagesDeps } from './package-images.ts';
import { createQuestions } from './questions.ts';
import {
  applyAgentAction,
  DEFAULT_APPROVALS,
  requestApproval,
  type AgentActionRow,
  type ApprovalsSettings,
} from './requests.ts';

export interface ApprovalsDeps {
  db: Db;
  dataDir: string;
  groupsDir: string;
  channels: ChannelRegistry;
  /** How cards and the host's messages reach chats: delivery's notices, recorded in delivery_attempts. */
  send: SendHostMessage;
  clock: () => Date;
  log: Logger;
  /** Starts a turn in a session (the agent must read an outcome). */
  wake(sessionId: string): void;
  /** Routes a held message again, past the dedup claim its first arrival took (the access router). */
  replay?(message: InboundMessage): Promise<unknown>;
  /** Builds agent images with packages (install_packages); without it such builds fail. */
  images?: PackageImagesDeps['images'];
  settings?: Partial<ApprovalsSettings>;
  /** Signed links on cards shown without buttons (email): the install's link key and public URL. */
  links?: ApprovalLinks;
  /** Counts decisions and the held messages they drop (metrics/). */
  metrics?: Pick<Metrics, 'dropped' | 'approvalDecided'>;
}

export function createApprovals(deps: ApprovalsDeps) {
  const { db, clock, log } = deps;
  const cards = createCards(deps);
  const questions = createQuestions({ ...deps, cards });
  const images = createPackageImages(deps);
  const followUps = createFollowUps({ ...deps, cards, rebuildImage: images.rebuild });
  const requests = {
    ...deps,
    settings: { ...DEFAULT_APPROVALS, ...deps.settings },
    sendCards: (approval: Approval) => sendApprovalCards({ ...deps, cards }, approval),
  };

  return {
    request: (req: ApprovalRequest) => requestApproval(requests, req),
    submitDecision,
    /** Before routing: true when the message was a click or reply to a card (do not route it). */
    intercept: (message: InboundMessage) =>
      interceptCardReply({ ...deps, cards, questions, submitDecision }, message),
    tick,
    rebuildStaleImages: images.rebuildStale,
    /** Resolves once every follow-up started so far has finished (tests, shutdown). */
    settled: followUps.settled,
    /** Delivery's hook for agents' `op: 'action'` rows. */
    actions: {
      handles: isApprovalAction,
      apply: (sessionId: string, row: AgentActionRow) => applyAgentAction(requests, sessionId, row),
    },
    /** Delivery's hook for `op: 'ask'` rows. */
    questions: { ask: questions.ask },
  };

  /** A decision from a card, a typed reply or the admin API: applied once, then followed up. */
  async function submitDecision(input: DecisionInput): Promise<DecisionOutcome> {
    const outcome = applyDecision(db, input, clock().toISOString());
    if (outcome.ok) {
      log.info(
        { approvalId: input.approvalId, status: outcome.approval.status, via: input.via },
        'approval decided',
      );
      void followUps.followUp(outcome.approval.id);
    } else {
      log.warn({ approvalId: input.approvalId, code: outcome.code, via: input.via }, 'decision refused');
      // Refused as expired and settled on the spot: close its cards and tell the requester now.
      if (outcome.code === 'expired') void followUps.followUp(input.approvalId);
    }
    return outcome;
  }

  /** The sweep's share: expire what is due, finish owed follow-ups. Index reads only when idle. */
  async function tick(): Promise<{ expired: number; questionsExpired: number }> {
    const expired = expireDueApprovals(deps);
    const questionsExpired = await questions.expireDue();
    followUps.startOwed();
    return { expired, questionsExpired };
  }
}

export type Approvals = ReturnType<typeof createApprovals>;
