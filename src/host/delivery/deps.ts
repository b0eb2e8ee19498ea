// What delivery is given: the central database, the channels and the clock, and the handlers of the
// outbound rows that are not sent to any chat (task actions, questions, messages to other agents).
import type { Db } from '../../db/connection.ts';
import type { DeliveryErrorCode } from '../../db/enums.ts';
import type { Session } from '../../db/sessions.ts';
import type { ChannelRegistry } from '../channels/index.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics/index.ts';
import type { OutboundRow, SessionPaths, SessionUnsafeError } from '../sessions/index.ts';

export interface DeliveryDeps {
  db: Db;
  dataDir: string;
  channels: ChannelRegistry;
  clock: () => Date;
  log: Logger;
  /** Start a turn in the session (the agent must hear about a failed delivery). */
  wake: (sessionId: string) => void;
  /** false: no file-change events, only the poll (the benchmark's baseline). */
  watchFiles?: boolean;
  /** The poll of a running session until its runner's bell has been heard (default 1 s). */
  pollMs?: number;
  /** The poll of a running session whose bell has been heard: only a lost ring waits for it (10 s). */
  eventPollMs?: number;
  maxAttempts?: number;
  onDelivered?: (event: { sessionId: string; messageOutId: string; inReplyTo: string | null }) => void;
  onFailed?: (event: { sessionId: string; messageOutId: string; code: DeliveryErrorCode }) => void;
  /** Counts deliveries, their latency, and final failures (metrics/). */
  metrics?: Pick<Metrics, 'delivered' | 'deliveryFailed'>;
  /** The session's out/ cannot be trusted (DESIGN §10): take it out of service (sessions/quarantine.ts). */
  onUnsafe?: (sessionId: string, err: SessionUnsafeError) => void;
  /**
   * Host-side operations agents ask for (`op: 'action'` rows) that are not sent anywhere, e.g. the
   * scheduler's task actions. The handler applies or refuses the row and records it in `delivered`
   * itself, in one transaction; a refusal reaches the agent as a system message.
   */
  actions?: ActionHandler;
  /**
   * ask_user_question (`op: 'ask'` rows): the handler shows the question and records the row in
   * `delivered` itself (approvals/questions.ts).
   */
  questions?: { ask(sessionId: string, row: OutboundRow): Promise<unknown> };
  /**
   * Rows of kind 'agent' (to another agent group, src/host/access/agent-messages.ts): delivered into
   * a session of that group or refused by its caps; either way settled by the handler.
   */
  agentMessages?: {
    deliver(session: Session, paths: SessionPaths, row: OutboundRow): unknown;
  };
}

export interface ActionHandler {
  handles(action: string): boolean;
  /** May be async: delivery waits for it before the next row. */
  apply(sessionId: string, row: ActionRequest): unknown;
}

export interface ActionRequest {
  id: string;
  timestamp: string;
  action: string;
  payload: Record<string, unknown>;
}

/** One hook from several (the scheduler's task actions, the approvals engine's requests). */
export function combineActions(...handlers: ActionHandler[]): ActionHandler {
  return {
    handles: (action) => handlers.some((h) => h.handles(action)),
    apply: (sessionId, row) => handlers.find((h) => h.handles(row.action))?.apply(sessionId, row),
  };
}
