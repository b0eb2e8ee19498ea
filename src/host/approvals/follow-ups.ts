// What follows a decision: the approval's cards closed, the requesting agent told, then the kind's
// own follow-up (replaying or dropping held messages, building an image, telling a chat). Follow-ups
// owed are recorded in the database (followups_done_at), so a decision made by the CLI, or one cut
// short by a crash, is finished by the host's next sweep; each step is safe to run again.
import { getApproval, listOwedFollowups, markFollowupsDone, type Approval } from '../../db/approvals.ts';
import { getSession } from '../../db/sessions.ts';
import { outboundSeqOf, sessionPaths } from '../sessions/index.ts';
import { actorName } from './actor-name.ts';
import { closingText } from './approval-card.ts';
import type { Cards } from './cards.ts';
import { releaseHeldMessages, type ReleaseHeldDeps } from './held.ts';
import { KIND_HANDLERS, type FollowUpContext } from './kinds/index.ts';
import { notifyAgent, type NotifyAgentDeps } from './notify-agent.ts';
import type { Metrics } from '../metrics/index.ts';
import type { ImageBuildOutcome } from './package-images.ts';

/** A follow-up failing this many times in a row is given up on (logged): the sweep must not spin on it. */
const MAX_FOLLOWUP_FAILURES = 5;

export interface FollowUpsDeps extends NotifyAgentDeps, ReleaseHeldDeps {
  groupsDir: string;
  cards: Cards;
  rebuildImage(agentGroupId: string): Promise<ImageBuildOutcome>;
  metrics?: Pick<Metrics, 'dropped' | 'approvalDecided'>;
}

export function createFollowUps(deps: FollowUpsDeps) {
  const { db, clock, log } = deps;
  const inFlight = new Map<string, Promise<void>>();
  const failures = new Map<string, number>();
  return { followUp, startOwed, settled };

  /** Runs the approval's follow-up, once per approval at a time. */
  function followUp(approvalId: string): Promise<void> {
    const running = inFlight.get(approvalId);
    if (running) return running;
    const work = runFollowUp(deps, approvalId)
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
        countDecided(deps, getApproval(db, approvalId));
      })
      .finally(() => inFlight.delete(approvalId));
    inFlight.set(approvalId, work);
    return work;
  }

  /** The sweep's share: starts follow-ups the CLI or a crash left owed (an index read when none). */
  function startOwed(limit = 20): void {
    for (const approval of listOwedFollowups(db, limit)) void followUp(approval.id);
  }

  /** Resolves once every follow-up started so far has finished (tests, shutdown). */
  async function settled(): Promise<void> {
    while (inFlight.size > 0) await Promise.allSettled([...inFlight.values()]);
  }
}

async function runFollowUp(deps: FollowUpsDeps, approvalId: string): Promise<void> {
  const { db, clock } = deps;
  const approval = getApproval(db, approvalId);
  if (!approval || approval.status === 'pending' || approval.followupsDoneAt) return;
  const handler = KIND_HANDLERS[approval.kind];
  const approved = approval.status === 'approved' || approval.status === 'expired_approved';
  const payload = approval.appliedPayload ?? approval.payload;
  await deps.cards.closeAll({ approvalId: approval.id }, closingText(db, approval));
  if (approval.sessionId) {
    notifyAgent(
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
        decidedBy: actorName(db, approval.decidedBy ?? 'expiry'),
        ...requestSeqOf(deps, approval),
      },
      `${approval.id}:decided`,
    );
  }
  const ctx = followUpContext(deps, approval);
  if (handler?.followUp) await handler.followUp(ctx, approval, payload, approved);
  else await ctx.releaseHeld(false, 'sender_rejected');
  markFollowupsDone(db, approval.id, clock().toISOString());
  countDecided(deps, approval);
}

/** Counted once its follow-up is done: so a decision made by the CLI counts too, and none twice. */
function countDecided(deps: FollowUpsDeps, approval: Approval | undefined): void {
  if (approval && approval.status !== 'pending') deps.metrics?.approvalDecided(approval.status);
}

function followUpContext(deps: FollowUpsDeps, approval: Approval): FollowUpContext {
  return {
    db: deps.db,
    now: () => deps.clock().toISOString(),
    groupsDir: deps.groupsDir,
    releaseHeld: (replay, dropReason) => releaseHeldMessages(deps, approval.id, replay, dropReason),
    rebuildImage: deps.rebuildImage,
    notifyRequester(content, key) {
      if (approval.sessionId) notifyAgent(deps, approval.sessionId, content, key);
    },
    async tellChat(chat, text, key) {
      await deps.cards.tell(
        { channelType: chat.channelType, chatId: chat.platformId, threadId: chat.threadId },
        text,
        key,
      );
    },
  };
}

/** The seq of the agent's request row, so the agent can tell which request this answers. */
function requestSeqOf(deps: FollowUpsDeps, approval: Approval): { requestSeq?: number } {
  const prefix = `action:${approval.sessionId}:`;
  const rowId = approval.dedupeKey?.startsWith(prefix) ? approval.dedupeKey.slice(prefix.length) : undefined;
  const session = approval.sessionId ? getSession(deps.db, approval.sessionId) : undefined;
  if (!rowId || !session) return {};
  try {
    const seq = outboundSeqOf(sessionPaths(deps.dataDir, session.agentGroupId, session.id), rowId);
    return seq === undefined ? {} : { requestSeq: seq };
  } catch {
    // Unreadable outbound.db: the agent is told without the seq rather than not at all.
    return {};
  }
}
