// Per-user daily token budgets: how many tokens a UTC day the model gateway lets calls made for one
// user use (src/host/gateway/admission.ts), next to the agent group's own budget. null is no limit.
import { z } from 'zod';
import { appendAuditEvent } from './audit.ts';
import type { Db } from './connection.ts';

/** A budget is a whole number of tokens per UTC day, at least 1. */
export const dailyTokenBudget = z.number().int().min(1).max(Number.MAX_SAFE_INTEGER);

export interface BudgetChange {
  userId: string;
  before: number | null;
  after: number | null;
}

/** The user's budget; null when they have none (or there is no such user). */
export function getUserDailyTokenBudget(db: Db, userId: string): number | null {
  const budget = db.prepare('SELECT daily_token_budget FROM users WHERE id = ?').pluck().get(userId) as
    number | null | undefined;
  return budget ?? null;
}

/**
 * Sets (a number) or clears (null) the user's budget; returns what it was and is. Throws for an
 * unknown user or a budget that is not a positive whole number.
 */
export function setUserDailyTokenBudget(
  db: Db,
  userId: string,
  budget: number | null,
  now: string,
): BudgetChange {
  const after = budget === null ? null : dailyTokenBudget.parse(budget);
  return db
    .transaction((): BudgetChange => {
      const row = db.prepare('SELECT daily_token_budget AS budget FROM users WHERE id = ?').get(userId) as
        { budget: number | null } | undefined;
      if (!row) throw new Error(`user ${userId} does not exist (warren users list shows who does)`);
      if (row.budget !== after)
        db.prepare('UPDATE users SET daily_token_budget = ?, updated_at = ? WHERE id = ?').run(
          after,
          now,
          userId,
        );
      return { userId, before: row.budget, after };
    })
    .immediate();
}

/** Every user with a budget, as user id → tokens per UTC day. */
export function listUserDailyTokenBudgets(db: Db): Map<string, number> {
  const rows = db
    .prepare('SELECT id, daily_token_budget AS budget FROM users WHERE daily_token_budget IS NOT NULL')
    .all() as { id: string; budget: number }[];
  return new Map(rows.map((r) => [r.id, r.budget]));
}

/** Sets or clears the budget and, when it changed, writes the audit row, in one transaction. */
export function changeUserDailyTokenBudget(
  db: Db,
  userId: string,
  budget: number | null,
  actor: string,
  now: string,
): BudgetChange {
  return db
    .transaction(() => {
      const change = setUserDailyTokenBudget(db, userId, budget, now);
      if (change.before !== change.after)
        appendAuditEvent(
          db,
          {
            actor,
            action: change.after === null ? 'user.budget_cleared' : 'user.budget_set',
            targetKind: 'user',
            targetId: userId,
            detail: { before: change.before, after: change.after },
          },
          now,
        );
      return change;
    })
    .immediate();
}
