// Who did what to whom. Append-only (the table refuses UPDATE); never store raw secrets here: put
// the payload's hash in payloadHash and only non-secret facts in detail.
import { z } from 'zod';
import type { Db } from './connection.ts';

export interface AuditEvent {
  id: number;
  actor: string;
  /** Dotted verb, e.g. 'approval.decided', 'role.granted', 'wiring.deleted'. */
  action: string;
  targetKind: string | null;
  targetId: string | null;
  payloadHash: string | null;
  detail: Record<string, unknown> | null;
  createdAt: string;
}

const newEvent = z.object({
  actor: z.string().min(1),
  action: z
    .string()
    .regex(/^[a-z][a-z_]*(\.[a-z][a-z_]*)+$/, "an action is a dotted name like 'approval.decided'"),
  targetKind: z.string().min(1).nullish(),
  targetId: z.string().min(1).nullish(),
  payloadHash: z
    .string()
    .regex(/^[0-9a-f]{64}$/, 'a payload hash is sha256 hex')
    .nullish(),
  detail: z.record(z.string(), z.json()).nullish(),
});

export type NewAuditEvent = z.input<typeof newEvent>;

export interface AuditQuery {
  target?: { kind: string; id: string };
  /** Cursor: only events older than this id. */
  beforeId?: number;
  limit?: number;
}

const COLUMNS = `id, actor, action, target_kind AS targetKind, target_id AS targetId, payload_hash AS payloadHash,
  detail, created_at AS createdAt`;

type Row = Omit<AuditEvent, 'detail'> & { detail: string | null };

export function appendAuditEvent(db: Db, input: NewAuditEvent, now: string): AuditEvent {
  const e = newEvent.parse(input);
  const row = db
    .prepare(
      `INSERT INTO audit_events (actor, action, target_kind, target_id, payload_hash, detail, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING ${COLUMNS}`,
    )
    .get(
      e.actor,
      e.action,
      e.targetKind ?? null,
      e.targetId ?? null,
      e.payloadHash ?? null,
      e.detail == null ? null : JSON.stringify(e.detail),
      now,
    ) as Row;
  return toAuditEvent(row);
}

/** Newest first; page with `beforeId` set to the last id of the previous page. */
export function listAuditEvents(db: Db, query: AuditQuery = {}): AuditEvent[] {
  const rows = db
    .prepare(
      `SELECT ${COLUMNS} FROM audit_events
       WHERE (@kind IS NULL OR (target_kind = @kind AND target_id = @id)) AND (@beforeId IS NULL OR id < @beforeId)
       ORDER BY id DESC LIMIT @limit`,
    )
    .all({
      kind: query.target?.kind ?? null,
      id: query.target?.id ?? null,
      beforeId: query.beforeId ?? null,
      limit: query.limit ?? 50,
    }) as Row[];
  return rows.map(toAuditEvent);
}

function toAuditEvent(row: Row): AuditEvent {
  return { ...row, detail: row.detail == null ? null : (JSON.parse(row.detail) as Record<string, unknown>) };
}
