// The contract each approval kind implements: what its payload may hold (zod), what approving does
// (shown on the card above every field), and the effect, applied inside the decision's transaction.
// Work outside the database (replaying held messages, building an image, making a folder) happens
// after the commit, in followUp, which must be safe to run again after a crash.
import type { z } from 'zod';
import type { Approval } from '../../../db/approvals.ts';
import type { Db } from '../../../db/connection.ts';
import type { ApprovalKind, DropReason } from '../../../db/enums.ts';
import type { SystemContent } from '../../../shared/session-content.ts';

export interface ApplyContext {
  db: Db;
  now: string;
  /** Who decided: a user id, `cli:<login>`, or `expiry`. */
  actor: string;
}

/** An approve variant shown as its own option (new_channel: which agent group to connect). */
export interface Choice {
  label: string;
  value: string;
}

export interface FollowUpContext {
  db: Db;
  now: () => string;
  groupsDir: string;
  /**
   * Replays the approval's held messages into routing (approved), or records them as dropped with
   * `dropReason`; each once.
   */
  releaseHeld(replay: boolean, dropReason: DropReason): Promise<number>;
  /** Rebuilds the agent group's image from its container_config packages (install_packages). */
  rebuildImage(agentGroupId: string): Promise<{ ok: true; image: string } | { ok: false; error: string }>;
  /** A system message into the requesting agent's session (and a turn); nothing when no agent asked. */
  notifyRequester(content: SystemContent, key: string): void;
  /** A message from the host to a chat (the person who asked). */
  tellChat(chat: ChatAddress, text: string, key: string): Promise<void>;
}

export interface ChatAddress {
  channelType: string;
  platformId: string;
  threadId: string | null;
}

/** An effect that cannot be applied as asked: the decision is refused with this message. */
export class ApplyError extends Error {
  override name = 'ApplyError';
}

export interface KindHandler<P = unknown> {
  readonly kind: ApprovalKind;
  /** Card title, e.g. "Install packages". */
  readonly title: string;
  readonly schema: z.ZodType<P>;
  /** Whether requests of this kind must name an agent group (whose admins may decide). */
  readonly needsAgentGroup: boolean;
  /** The reviewer may edit the payload before approving (agent_action). */
  readonly editable?: boolean;
  /** Fills in what the host decides at request time (shown on the card, so part of the hash). */
  prepare?(payload: P, db: Db, approval: { agentGroupId: string | null }): P;
  /** What approving does, a sentence or two; the card shows every payload field below it. */
  effect(payload: P, db: Db, agentGroupId: string | null): string;
  choices?(payload: P, db: Db): Choice[];
  apply(ctx: ApplyContext, approval: Approval, payload: P, choice: string | undefined): void;
  /** Inside the decision's transaction when the outcome is not approved. */
  onReject?(ctx: ApplyContext, approval: Approval, payload: P): void;
  followUp?(ctx: FollowUpContext, approval: Approval, payload: P, approved: boolean): Promise<void>;
}

/** Erases the payload type so handlers of every kind fit one registry. */
export const handler = <P>(h: KindHandler<P>): KindHandler => h as unknown as KindHandler;
