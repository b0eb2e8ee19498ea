// An approval's cards: what one says while it is open (the effect in full, who asked, what expiry
// does, an option per verdict and choice), who gets it (every approver, in their direct chats), and
// what it says once the approval is settled.
import type { Approval } from '../../db/approvals.ts';
import type { Db } from '../../db/connection.ts';
import type { ChannelRegistry } from '../channels/index.ts';
import type { Logger } from '../logger.ts';
import { actorName } from './actor-name.ts';
import { dmTargets, listApprovers } from './approvers.ts';
import type { Cards, CardSpec } from './cards.ts';
import { KIND_HANDLERS } from './kinds/index.ts';
import { signApprovalLink } from './links.ts';
import { approvalOptionValue, parseOptionValue } from './replies.ts';

export interface ApprovalCardDeps {
  db: Db;
  channels: ChannelRegistry;
  log: Logger;
  cards: Cards;
  /** Signed links under each option, for chats without buttons (email); absent: no links. */
  links?: ApprovalLinks;
}

export interface ApprovalLinks {
  /** The install's link key (data folder `link-key`). */
  key: string;
  /**
   * Where people reach the host (config publicUrl, else where it listens, known once it does): links
   * are `<publicUrl>/approve/<token>`.
   */
  publicUrl: () => string;
}

/** Sends the approval's card to every approver's direct chats; returns how many were shown. */
export async function sendApprovalCards(deps: ApprovalCardDeps, approval: Approval): Promise<number> {
  const { db, log, cards } = deps;
  const spec = approvalCard(db, approval);
  const capabilitiesOf = (channelType: string) => channelCapabilities(deps.channels, channelType);
  let sent = 0;
  for (const userId of listApprovers(db, approval.agentGroupId)) {
    const shown = deps.links ? withLinks(spec, approval, userId, deps.links) : spec;
    for (const target of dmTargets(db, userId, capabilitiesOf)) if (await cards.send(target, shown)) sent++;
  }
  if (sent === 0) {
    log.warn(
      { approvalId: approval.id, kind: approval.kind },
      'no approver could be shown a card; decide with `warren approvals` or the admin API',
    );
  }
  return sent;
}

export function approvalCard(db: Db, approval: Approval): CardSpec {
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
      `Asked by ${actorName(db, approval.requestedBy)}. If nobody decides by ${approval.expiresAt}, it is ${then}.`,
      `Approval ${approval.id}, payload sha256 ${hash}`,
    ].join('\n'),
    options: [...approve, { label: 'Reject', value: approvalOptionValue(approval.id, 'reject', hash) }],
    textHint: `Reply with the number, or "approve ${approval.id}" / "reject ${approval.id} <reason>".`,
    payloadHash: hash,
  };
}

/**
 * The card for one approver with a signed link under each option (shown where there are no buttons):
 * the link decides as that approver, and only after they confirm on the page it opens.
 */
function withLinks(spec: CardSpec, approval: Approval, userId: string, links: ApprovalLinks): CardSpec {
  const options = spec.options.map((option) => {
    const intent = parseOptionValue(option.value);
    if (intent?.type !== 'approval') return option;
    const token = signApprovalLink(links.key, {
      approvalId: intent.approvalId,
      decision: intent.decision,
      payloadHash: intent.payloadHash,
      ...(intent.choice ? { choice: intent.choice } : {}),
      userId,
      expiresAt: approval.expiresAt,
    });
    return { ...option, url: `${links.publicUrl()}/approve/${token}` };
  });
  return { ...spec, options, textHint: `Open the link under your choice, or: ${spec.textHint}` };
}

/** What a settled approval's cards say instead. */
export function closingText(db: Db, approval: Approval): string {
  const title = KIND_HANDLERS[approval.kind]?.title ?? approval.kind;
  const who = actorName(db, approval.decidedBy ?? 'expiry');
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

/** A registered channel's capabilities; undefined when the host has no such channel. */
function channelCapabilities(channels: ChannelRegistry, channelType: string): number | undefined {
  try {
    return channels.get(channelType).capabilities;
  } catch {
    return undefined;
  }
}
