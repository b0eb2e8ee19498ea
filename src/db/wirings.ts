import { z } from 'zod';
import type { Db } from './connection.ts';
import {
  ENGAGE_MODES,
  IGNORED_MESSAGE_POLICIES,
  SENDER_SCOPES,
  SESSION_MODES,
  type EngageMode,
  type IgnoredMessagePolicy,
  type SenderScope,
  type SessionMode,
} from './enums.ts';
import { newId } from './ids.ts';

/** Which agent group answers in which chat, and how. */
export interface Wiring {
  id: string;
  messagingGroupId: string;
  agentGroupId: string;
  engageMode: EngageMode;
  /** A regular expression source; set exactly when engageMode is 'pattern'. */
  engagePattern: string | null;
  senderScope: SenderScope;
  ignoredMessagePolicy: IgnoredMessagePolicy;
  sessionMode: SessionMode;
  priority: number;
  createdAt: string;
}

const newWiring = z
  .object({
    messagingGroupId: z.string().min(1),
    agentGroupId: z.string().min(1),
    engageMode: z.enum(ENGAGE_MODES).default('mention'),
    engagePattern: z.string().min(1).max(500).refine(isRegExp, 'not a valid regular expression').nullish(),
    senderScope: z.enum(SENDER_SCOPES).default('all'),
    ignoredMessagePolicy: z.enum(IGNORED_MESSAGE_POLICIES).default('drop'),
    sessionMode: z.enum(SESSION_MODES).default('shared'),
    priority: z.number().int().default(0),
  })
  .refine((w) => (w.engageMode === 'pattern') === (w.engagePattern != null), {
    message: "engagePattern is required with engageMode 'pattern' and only allowed with it",
    path: ['engagePattern'],
  });

export type NewWiring = z.input<typeof newWiring>;

const COLUMNS = `id, messaging_group_id AS messagingGroupId, agent_group_id AS agentGroupId,
  engage_mode AS engageMode, engage_pattern AS engagePattern, sender_scope AS senderScope,
  ignored_message_policy AS ignoredMessagePolicy, session_mode AS sessionMode, priority, created_at AS createdAt`;

export function createWiring(db: Db, input: NewWiring, now: string): Wiring {
  const w = newWiring.parse(input);
  return db
    .prepare(
      `INSERT INTO wirings (id, messaging_group_id, agent_group_id, engage_mode, engage_pattern, sender_scope,
         ignored_message_policy, session_mode, priority, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING ${COLUMNS}`,
    )
    .get(
      newId('wir'),
      w.messagingGroupId,
      w.agentGroupId,
      w.engageMode,
      w.engagePattern ?? null,
      w.senderScope,
      w.ignoredMessagePolicy,
      w.sessionMode,
      w.priority,
      now,
    ) as Wiring;
}

/** The chat's wirings in evaluation order: highest priority first, then oldest first. */
export function listWiringsForMessagingGroup(db: Db, messagingGroupId: string): Wiring[] {
  return db
    .prepare(
      `SELECT ${COLUMNS} FROM wirings WHERE messaging_group_id = ? ORDER BY priority DESC, created_at, id`,
    )
    .all(messagingGroupId) as Wiring[];
}

export function listWiringsForAgentGroup(db: Db, agentGroupId: string): Wiring[] {
  return db
    .prepare(`SELECT ${COLUMNS} FROM wirings WHERE agent_group_id = ? ORDER BY created_at, id`)
    .all(agentGroupId) as Wiring[];
}

/** Every wiring, by chat then evaluation order (for `warren wirings`). */
export function listWirings(db: Db): Wiring[] {
  return db
    .prepare(`SELECT ${COLUMNS} FROM wirings ORDER BY messaging_group_id, priority DESC, created_at, id`)
    .all() as Wiring[];
}

export function getWiring(db: Db, id: string): Wiring | undefined {
  return db.prepare(`SELECT ${COLUMNS} FROM wirings WHERE id = ?`).get(id) as Wiring | undefined;
}

/** The wiring of one chat to one agent group (there is at most one). */
export function findWiring(db: Db, messagingGroupId: string, agentGroupId: string): Wiring | undefined {
  return db
    .prepare(`SELECT ${COLUMNS} FROM wirings WHERE messaging_group_id = ? AND agent_group_id = ?`)
    .get(messagingGroupId, agentGroupId) as Wiring | undefined;
}

export function deleteWiring(db: Db, id: string): boolean {
  return db.prepare('DELETE FROM wirings WHERE id = ?').run(id).changes === 1;
}

function isRegExp(source: string): boolean {
  try {
    new RegExp(source);
    return true;
  } catch {
    return false;
  }
}
