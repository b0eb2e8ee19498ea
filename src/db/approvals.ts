// Approval requests and ask_user_question cards. Who may decide, and what a decision does, is
// src/host/approvals' business; here a pending row is settled at most once.
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { Db } from './connection.ts';
import {
  APPROVAL_KINDS,
  APPROVAL_STATUSES,
  EXPIRY_ACTIONS,
  type ApprovalKind,
  type ApprovalStatus,
  type ExpiryAction,
  type QuestionStatus,
} from './enums.ts';
import { newId } from './ids.ts';

// Stored in one canonical form (toISOString) so that text comparisons in SQL order by time.
const isoTime = z.iso.datetime({ offset: true }).transform((t) => new Date(t).toISOString());

export interface Approval {
  id: string;
  kind: ApprovalKind;
  agentGroupId: string | null;
  sessionId: string | null;
  requestedBy: string;
  payload: unknown;
  /** sha256 (hex) of the stored payload JSON: what the decider saw is what gets applied and audited. */
  payloadHash: string;
  renderedEffect: string;
  status: ApprovalStatus;
  expiresAt: string;
  expiryAction: ExpiryAction;
  decidedBy: string | null;
  decidedAt: string | null;
  note: string | null;
  createdAt: string;
  /** At most one pending approval holds a given key (one card per chat and sender, …). */
  dedupeKey: string | null;
  /** How it was decided: the channel of the decision, a choice, an edit of the payload. */
  decision: ApprovalDecisionDetail | null;
  /** What was applied: the payload, or the reviewer's edit of it. */
  appliedPayload: unknown;
  /** When the host finished what follows a decision; null on a decided row = still owed. */
  followupsDoneAt: string | null;
}

export interface ApprovalDecisionDetail {
  via: string;
  choice?: string;
  /** agent_action: the reviewer changed the payload before approving. */
  edited?: { beforeHash: string; afterHash: string };
}

const newApproval = z.object({
  kind: z.enum(APPROVAL_KINDS),
  agentGroupId: z.string().min(1).nullish(),
  sessionId: z.string().min(1).nullish(),
  requestedBy: z.string().min(1),
  payload: z.json(),
  renderedEffect: z.string().min(1),
  expiresAt: isoTime,
  expiryAction: z.enum(EXPIRY_ACTIONS).default('reject'),
  dedupeKey: z.string().min(1).max(500).nullish(),
});

export type NewApproval = z.input<typeof newApproval>;

const APPROVAL_COLUMNS = `id, kind, agent_group_id AS agentGroupId, session_id AS sessionId, requested_by AS requestedBy,
  payload, payload_hash AS payloadHash, rendered_effect AS renderedEffect, status, expires_at AS expiresAt,
  expiry_action AS expiryAction, decided_by AS decidedBy, decided_at AS decidedAt, note, created_at AS createdAt,
  dedupe_key AS dedupeKey, decision, applied_payload AS appliedPayload, followups_done_at AS followupsDoneAt`;

type ApprovalRow = Omit<Approval, 'payload' | 'decision' | 'appliedPayload'> & {
  payload: string;
  decision: string | null;
  appliedPayload: string | null;
};

/**
 * JSON with object keys sorted at every level: the same payload always has the same text and hash,
 * whatever order its producer wrote the keys in.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

/** sha256 (hex) of the payload's canonical JSON: what cards, the CLI and the API compare. */
export function payloadHashOf(payload: unknown): string {
  return sha256(canonicalJson(payload));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]),
  );
}

export function createApproval(db: Db, input: NewApproval, now: string): Approval {
  const a = newApproval.parse(input);
  const payload = canonicalJson(a.payload);
  const row = db
    .prepare(
      `INSERT INTO approvals (id, kind, agent_group_id, session_id, requested_by, payload, payload_hash,
         rendered_effect, expires_at, expiry_action, created_at, dedupe_key)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING ${APPROVAL_COLUMNS}`,
    )
    .get(
      newId('apr'),
      a.kind,
      a.agentGroupId ?? null,
      a.sessionId ?? null,
      a.requestedBy,
      payload,
      sha256(payload),
      a.renderedEffect,
      a.expiresAt,
      a.expiryAction,
      now,
      a.dedupeKey ?? null,
    ) as ApprovalRow;
  return toApproval(row);
}

export function getApproval(db: Db, id: string): Approval | undefined {
  const row = db.prepare(`SELECT ${APPROVAL_COLUMNS} FROM approvals WHERE id = ?`).get(id) as
    ApprovalRow | undefined;
  return row && toApproval(row);
}

/** The pending approval holding this dedupe key, if any. */
export function findPendingApprovalByKey(db: Db, dedupeKey: string): Approval | undefined {
  const row = db
    .prepare(`SELECT ${APPROVAL_COLUMNS} FROM approvals WHERE dedupe_key = ? AND status = 'pending'`)
    .get(dedupeKey) as ApprovalRow | undefined;
  return row && toApproval(row);
}

/** The newest approval of any status holding this dedupe key (an agent's request seen again). */
export function findLatestApprovalByKey(db: Db, dedupeKey: string): Approval | undefined {
  const row = db
    .prepare(
      `SELECT ${APPROVAL_COLUMNS} FROM approvals WHERE dedupe_key = ? ORDER BY created_at DESC, id DESC LIMIT 1`,
    )
    .get(dedupeKey) as ApprovalRow | undefined;
  return row && toApproval(row);
}

export interface ApprovalPageQuery {
  status?: ApprovalStatus;
  /** Only approvals about these agent groups; undefined: all of them (null-group ones included). */
  agentGroupIds?: readonly string[];
  /** Cursor: only approvals after this (createdAt, id), oldest first. */
  after?: { createdAt: string; id: string };
  limit: number;
}

/** Oldest first, keyset-paginated on (created_at, id). */
export function listApprovals(db: Db, query: ApprovalPageQuery): Approval[] {
  const rows = db
    .prepare(
      `SELECT ${APPROVAL_COLUMNS} FROM approvals
       WHERE (@status IS NULL OR status = @status)
         AND (@groups IS NULL OR agent_group_id IN (SELECT value FROM json_each(@groups)))
         AND (@afterAt IS NULL OR (created_at, id) > (@afterAt, @afterId))
       ORDER BY created_at, id LIMIT @limit`,
    )
    .all({
      status: query.status ?? null,
      groups: query.agentGroupIds ? JSON.stringify(query.agentGroupIds) : null,
      afterAt: query.after?.createdAt ?? null,
      afterId: query.after?.id ?? '',
      limit: query.limit,
    }) as ApprovalRow[];
  return rows.map(toApproval);
}

/** Pending approvals whose time is up, oldest first; an index read (approvals_pending). */
export function listExpiredApprovals(db: Db, now: string, limit: number): Approval[] {
  const rows = db
    .prepare(
      `SELECT ${APPROVAL_COLUMNS} FROM approvals WHERE status = 'pending' AND expires_at <= ?
       ORDER BY expires_at LIMIT ?`,
    )
    .all(now, limit) as ApprovalRow[];
  return rows.map(toApproval);
}

/** Decided approvals whose follow-ups the host still owes; an index read (approvals_followups). */
export function listOwedFollowups(db: Db, limit: number): Approval[] {
  const rows = db
    .prepare(
      `SELECT ${APPROVAL_COLUMNS} FROM approvals WHERE status <> 'pending' AND followups_done_at IS NULL
       ORDER BY decided_at LIMIT ?`,
    )
    .all(limit) as ApprovalRow[];
  return rows.map(toApproval);
}

export function markFollowupsDone(db: Db, id: string, now: string): boolean {
  return (
    db
      .prepare('UPDATE approvals SET followups_done_at = ? WHERE id = ? AND followups_done_at IS NULL')
      .run(now, id).changes === 1
  );
}

export interface Settlement {
  status: Exclude<ApprovalStatus, 'pending'>;
  decidedBy: string;
  note?: string | null;
  decision: ApprovalDecisionDetail;
  /** What is applied (approved statuses); null when nothing is. */
  appliedPayload: unknown;
}

/**
 * Settles a pending approval inside the caller's transaction (the one that applies its effect).
 * False, changing nothing, when it is no longer pending: someone else decided first.
 */
export function settleApproval(db: Db, id: string, s: Settlement, now: string): boolean {
  const status = z.enum(APPROVAL_STATUSES).exclude(['pending']).parse(s.status);
  return (
    db
      .prepare(
        `UPDATE approvals SET status = ?, decided_by = ?, decided_at = ?, note = ?, decision = ?,
           applied_payload = ?
         WHERE id = ? AND status = 'pending'`,
      )
      .run(
        status,
        s.decidedBy,
        now,
        s.note ?? null,
        JSON.stringify(s.decision),
        s.appliedPayload === null || s.appliedPayload === undefined ? null : canonicalJson(s.appliedPayload),
        id,
      ).changes === 1
  );
}

/** Oldest first, the order they should be answered in. */
export function listPendingApprovals(db: Db): Approval[] {
  const rows = db
    .prepare(`SELECT ${APPROVAL_COLUMNS} FROM approvals WHERE status = 'pending' ORDER BY created_at, id`)
    .all() as ApprovalRow[];
  return rows.map(toApproval);
}

/** How many approvals wait for a decision (an index count: cheap enough for every metrics scrape). */
export function countPendingApprovals(db: Db): number {
  return db.prepare(`SELECT count(*) FROM approvals WHERE status = 'pending'`).pluck().get() as number;
}

/**
 * Settles a pending approval. Returns false, changing nothing, when it was already settled: the
 * caller applies the effect only on true, inside the same transaction, so it happens exactly once.
 */
export function decideApproval(
  db: Db,
  id: string,
  status: Exclude<ApprovalStatus, 'pending'>,
  decidedBy: string,
  now: string,
  note?: string,
): boolean {
  const s = z.enum(APPROVAL_STATUSES).exclude(['pending']).parse(status);
  return db
    .transaction(
      () =>
        db
          .prepare(
            `UPDATE approvals SET status = ?, decided_by = ?, decided_at = ?, note = ?
             WHERE id = ? AND status = 'pending'`,
          )
          .run(s, decidedBy, now, note ?? null, id).changes === 1,
    )
    .immediate();
}

export interface QuestionOption {
  label: string;
  value: string;
}

export interface Question {
  id: string;
  sessionId: string;
  messageOutSeq: number | null;
  question: string;
  options: QuestionOption[];
  /** User ids who may answer; null: anyone in the chat. */
  allowedUsers: string[] | null;
  status: QuestionStatus;
  answer: string | null;
  answeredBy: string | null;
  answeredAt: string | null;
  expiresAt: string;
  createdAt: string;
}

const newQuestion = z.object({
  // The runner chooses the id (it is in the 'ask' operation it wrote), so it is taken as given.
  id: z.string().min(1).max(100),
  sessionId: z.string().min(1),
  messageOutSeq: z.number().int().positive().nullish(),
  question: z.string().min(1).max(4000),
  options: z.array(z.object({ label: z.string().min(1).max(200), value: z.string().min(1).max(200) })).min(1),
  allowedUsers: z.array(z.string().min(1)).nullish(),
  expiresAt: isoTime,
});

export type NewQuestion = z.input<typeof newQuestion>;

const QUESTION_COLUMNS = `id, session_id AS sessionId, message_out_seq AS messageOutSeq, question, options,
  allowed_users AS allowedUsers, status, answer, answered_by AS answeredBy, answered_at AS answeredAt,
  expires_at AS expiresAt, created_at AS createdAt`;

type QuestionRow = Omit<Question, 'options' | 'allowedUsers'> & {
  options: string;
  allowedUsers: string | null;
};

export function createQuestion(db: Db, input: NewQuestion, now: string): Question {
  const q = newQuestion.parse(input);
  const row = db
    .prepare(
      `INSERT INTO questions (id, session_id, message_out_seq, question, options, allowed_users, expires_at, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING ${QUESTION_COLUMNS}`,
    )
    .get(
      q.id,
      q.sessionId,
      q.messageOutSeq ?? null,
      q.question,
      JSON.stringify(q.options),
      q.allowedUsers == null ? null : JSON.stringify(q.allowedUsers),
      q.expiresAt,
      now,
    ) as QuestionRow;
  return toQuestion(row);
}

export function getQuestion(db: Db, id: string): Question | undefined {
  const row = db.prepare(`SELECT ${QUESTION_COLUMNS} FROM questions WHERE id = ?`).get(id) as
    QuestionRow | undefined;
  return row && toQuestion(row);
}

export function listPendingQuestions(db: Db): Question[] {
  const rows = db
    .prepare(`SELECT ${QUESTION_COLUMNS} FROM questions WHERE status = 'pending' ORDER BY created_at, id`)
    .all() as QuestionRow[];
  return rows.map(toQuestion);
}

/**
 * Records the answer of a pending question that has not run out of time at `now` (one conditional
 * UPDATE, so the check and the answer are one step); false when it was already answered, expired,
 * cancelled, or its time is up.
 */
export function answerQuestion(db: Db, id: string, answer: string, answeredBy: string, now: string): boolean {
  return (
    db
      .prepare(
        `UPDATE questions SET status = 'answered', answer = ?, answered_by = ?, answered_at = ?
         WHERE id = ? AND status = 'pending' AND expires_at > ?`,
      )
      .run(answer, answeredBy, now, id, new Date(now).toISOString()).changes === 1
  );
}

/** Closes a pending question unanswered; false when it was already answered, expired or cancelled. */
export function expireQuestion(db: Db, id: string): boolean {
  return (
    db.prepare("UPDATE questions SET status = 'expired' WHERE id = ? AND status = 'pending'").run(id)
      .changes === 1
  );
}

/** Pending questions whose time is up; an index read (questions_pending). */
export function listExpiredQuestions(db: Db, now: string, limit: number): Question[] {
  const rows = db
    .prepare(
      `SELECT ${QUESTION_COLUMNS} FROM questions WHERE status = 'pending' AND expires_at <= ?
       ORDER BY expires_at LIMIT ?`,
    )
    .all(now, limit) as QuestionRow[];
  return rows.map(toQuestion);
}

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

function toApproval(row: ApprovalRow): Approval {
  return {
    ...row,
    payload: JSON.parse(row.payload),
    decision: row.decision == null ? null : (JSON.parse(row.decision) as ApprovalDecisionDetail),
    appliedPayload: row.appliedPayload == null ? null : JSON.parse(row.appliedPayload),
  };
}

function toQuestion(row: QuestionRow): Question {
  return {
    ...row,
    options: JSON.parse(row.options) as QuestionOption[],
    allowedUsers: row.allowedUsers == null ? null : (JSON.parse(row.allowedUsers) as string[]),
  };
}
