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
});

export type NewApproval = z.input<typeof newApproval>;

const APPROVAL_COLUMNS = `id, kind, agent_group_id AS agentGroupId, session_id AS sessionId, requested_by AS requestedBy,
  payload, payload_hash AS payloadHash, rendered_effect AS renderedEffect, status, expires_at AS expiresAt,
  expiry_action AS expiryAction, decided_by AS decidedBy, decided_at AS decidedAt, note, created_at AS createdAt`;

type ApprovalRow = Omit<Approval, 'payload'> & { payload: string };

export function createApproval(db: Db, input: NewApproval, now: string): Approval {
  const a = newApproval.parse(input);
  const payload = JSON.stringify(a.payload);
  const row = db
    .prepare(
      `INSERT INTO approvals (id, kind, agent_group_id, session_id, requested_by, payload, payload_hash,
         rendered_effect, expires_at, expiry_action, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING ${APPROVAL_COLUMNS}`,
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
    ) as ApprovalRow;
  return toApproval(row);
}

export function getApproval(db: Db, id: string): Approval | undefined {
  const row = db.prepare(`SELECT ${APPROVAL_COLUMNS} FROM approvals WHERE id = ?`).get(id) as
    ApprovalRow | undefined;
  return row && toApproval(row);
}

/** Oldest first, the order they should be answered in. */
export function listPendingApprovals(db: Db): Approval[] {
  const rows = db
    .prepare(`SELECT ${APPROVAL_COLUMNS} FROM approvals WHERE status = 'pending' ORDER BY created_at, id`)
    .all() as ApprovalRow[];
  return rows.map(toApproval);
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

/** Records the answer of a pending question; false when it was already answered, expired or cancelled. */
export function answerQuestion(db: Db, id: string, answer: string, answeredBy: string, now: string): boolean {
  return (
    db
      .prepare(
        `UPDATE questions SET status = 'answered', answer = ?, answered_by = ?, answered_at = ?
         WHERE id = ? AND status = 'pending'`,
      )
      .run(answer, answeredBy, now, id).changes === 1
  );
}

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

function toApproval(row: ApprovalRow): Approval {
  return { ...row, payload: JSON.parse(row.payload) };
}

function toQuestion(row: QuestionRow): Question {
  return {
    ...row,
    options: JSON.parse(row.options) as QuestionOption[],
    allowedUsers: row.allowedUsers == null ? null : (JSON.parse(row.allowedUsers) as string[]),
  };
}
