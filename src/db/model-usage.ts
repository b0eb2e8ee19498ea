// One row per model call the gateway forwarded (src/host/gateway): the tokens the provider reported,
// for daily budgets and `warren usage`. Rows are only ever added (and removed with their agent group).
import { z } from 'zod';
import type { Db } from './connection.ts';
import { MODEL_PROVIDERS, type ModelProvider } from './enums.ts';

export interface TokenCounts {
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
}

export interface NewModelUsage extends TokenCounts {
  agentGroupId: string;
  sessionId: string;
  userId: string | null;
  provider: ModelProvider;
  model: string | null;
  path: string;
  statusCode: number;
  durationMs: number;
  createdAt: string;
}

export interface ModelUsage extends NewModelUsage {
  id: number;
}

const count = z.number().int().min(0);
const newModelUsage = z.object({
  agentGroupId: z.string().min(1),
  sessionId: z.string().min(1),
  userId: z.string().min(1).nullable(),
  provider: z.enum(MODEL_PROVIDERS),
  model: z.string().min(1).max(200).nullable(),
  path: z.string().min(1).max(2000),
  inputTokens: count,
  outputTokens: count,
  cacheReadTokens: count,
  cacheWriteTokens: count,
  statusCode: z.number().int().min(100).max(599),
  durationMs: count,
  createdAt: z.iso.datetime(),
});

const COLUMNS = `id, agent_group_id AS agentGroupId, session_id AS sessionId, user_id AS userId, provider, model,
  path, input_tokens AS inputTokens, output_tokens AS outputTokens, cache_read_tokens AS cacheReadTokens,
  cache_write_tokens AS cacheWriteTokens, status_code AS statusCode, duration_ms AS durationMs,
  created_at AS createdAt`;

export function recordModelUsage(db: Db, input: NewModelUsage): ModelUsage {
  const u = newModelUsage.parse(input);
  return db
    .prepare(
      `INSERT INTO model_usage (agent_group_id, session_id, user_id, provider, model, path, input_tokens,
         output_tokens, cache_read_tokens, cache_write_tokens, status_code, duration_ms, created_at)
       VALUES (@agentGroupId, @sessionId, @userId, @provider, @model, @path, @inputTokens, @outputTokens,
         @cacheReadTokens, @cacheWriteTokens, @statusCode, @durationMs, @createdAt)
       RETURNING ${COLUMNS}`,
    )
    .get(u) as ModelUsage;
}

/** Every token a group's calls used in [from, to): input, output, cache reads and cache writes. */
export function tokensUsedByGroup(db: Db, agentGroupId: string, from: string, to: string): number {
  return db
    .prepare(
      `SELECT ifnull(sum(input_tokens + output_tokens + cache_read_tokens + cache_write_tokens), 0)
       FROM model_usage WHERE agent_group_id = ? AND created_at >= ? AND created_at < ?`,
    )
    .pluck()
    .get(agentGroupId, from, to) as number;
}

/** Every token the calls made for one user used in [from, to), in every agent group. */
export function tokensUsedByUser(db: Db, userId: string, from: string, to: string): number {
  return db
    .prepare(
      `SELECT ifnull(sum(input_tokens + output_tokens + cache_read_tokens + cache_write_tokens), 0)
       FROM model_usage WHERE user_id = ? AND created_at >= ? AND created_at < ?`,
    )
    .pluck()
    .get(userId, from, to) as number;
}

/** Tokens per user in [from, to), every group together; calls for no user are left out. */
export function tokensUsedPerUser(db: Db, from: string, to: string): Map<string, number> {
  const rows = db
    .prepare(
      `SELECT user_id AS userId, sum(input_tokens + output_tokens + cache_read_tokens + cache_write_tokens) AS tokens
       FROM model_usage WHERE user_id IS NOT NULL AND created_at >= ? AND created_at < ? GROUP BY user_id`,
    )
    .all(from, to) as { userId: string; tokens: number }[];
  return new Map(rows.map((r) => [r.userId, r.tokens]));
}

export interface UsageFilter {
  agentGroupId?: string;
  userId?: string;
  /** ISO-8601 UTC; rows at or after it. */
  since?: string;
}

export interface UsageTotals extends TokenCounts {
  agentGroupId: string;
  /** null: calls made for no known user (tasks, other agents, unknown senders). */
  userId: string | null;
  requests: number;
  /** Calls the provider answered with an error status. */
  errors: number;
  firstAt: string;
  lastAt: string;
}

/** Totals per (agent group, user), biggest spender first. */
export function usageTotals(db: Db, filter: UsageFilter = {}): UsageTotals[] {
  const { where, params } = whereOf(filter);
  return db
    .prepare(
      `SELECT agent_group_id AS agentGroupId, user_id AS userId, count(*) AS requests,
         sum(status_code >= 400) AS errors, sum(input_tokens) AS inputTokens, sum(output_tokens) AS outputTokens,
         sum(cache_read_tokens) AS cacheReadTokens, sum(cache_write_tokens) AS cacheWriteTokens,
         min(created_at) AS firstAt, max(created_at) AS lastAt
       FROM model_usage ${where}
       GROUP BY agent_group_id, user_id
       ORDER BY sum(input_tokens + output_tokens + cache_read_tokens + cache_write_tokens) DESC, agent_group_id, user_id`,
    )
    .all(params) as UsageTotals[];
}

/** The most recent calls first. */
export function listModelUsage(db: Db, filter: UsageFilter = {}, limit = 50): ModelUsage[] {
  const { where, params } = whereOf(filter);
  return db
    .prepare(`SELECT ${COLUMNS} FROM model_usage ${where} ORDER BY created_at DESC, id DESC LIMIT @limit`)
    .all({ ...params, limit: Math.min(Math.max(limit, 1), 1000) }) as ModelUsage[];
}

function whereOf(filter: UsageFilter): { where: string; params: Record<string, string> } {
  const clauses: string[] = [];
  const params: Record<string, string> = {};
  if (filter.agentGroupId !== undefined) {
    clauses.push('agent_group_id = @agentGroupId');
    params.agentGroupId = filter.agentGroupId;
  }
  if (filter.userId !== undefined) {
    clauses.push('user_id = @userId');
    params.userId = filter.userId;
  }
  if (filter.since !== undefined) {
    clauses.push('created_at >= @since');
    params.since = filter.since;
  }
  return { where: clauses.length > 0 ? `WHERE ${clauses.join(' AND ')}` : '', params };
}
