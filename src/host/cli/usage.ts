// `warren usage [--group NAME] [--user ID] [--since ISO]`: tokens the model gateway recorded, totalled
// per agent group and user, and each user's tokens today against their daily budget (docs/models.md).
// Read-only; works whether or not the host is running.
import { listAgentGroups } from '../../db/agent-groups.ts';
import type { Db } from '../../db/connection.ts';
import { tokensUsedPerUser, usageTotals, type UsageFilter, type UsageTotals } from '../../db/model-usage.ts';
import { listUserDailyTokenBudgets } from '../../db/user-budgets.ts';
import { getUser } from '../../db/users.ts';
import type { Config } from '../config.ts';
import { utcDay } from '../gateway/index.ts';
import { withCentralDb } from './central-db.ts';
import { resolveGroup } from './groups.ts';
import { renderTable } from './table.ts';

export interface UsageInput {
  config: Config;
  /** The positional after `usage`: only `help` is one. */
  subcommand: string | undefined;
  group: string | undefined;
  user: string | undefined;
  since: string | undefined;
  json: boolean;
  /** "Today" is the UTC day this falls in. */
  now: Date;
  write: (text: string) => void;
  fail: (text: string) => void;
}

/** One user's tokens this UTC day, every agent group together, against their budget. */
export interface UserToday {
  userId: string;
  usedToday: number;
  /** Tokens per UTC day; null is no limit. */
  dailyTokenBudget: number | null;
  resetsAt: string;
}

export const USAGE_HELP = `warren usage [--group NAME] [--user ID] [--since ISO] [--json]
tokens the model gateway recorded, per agent group and user: calls, calls answered with an error,
input, output, cache read and cache write tokens, their total, and the last call.
  --group NAME   one agent group (its folder, e.g. main, or its name)
  --user ID      one user (a user id, u_…)
  --since ISO    calls from this time on, e.g. 2026-05-01 or 2026-05-01T12:00:00Z (default: all time)
then, per user with a daily token budget or tokens today: tokens used this UTC day in every agent
group, the budget (warren users budget USER N) and what is left. --json adds the same to each row
as "userToday" (null for calls made for no user).
`;

export function runUsageCommand(input: UsageInput): Promise<number> {
  const { subcommand } = input;
  return withCentralDb({ name: 'usage', sub: subcommand, usage: USAGE_HELP }, input, (db) => {
    if (subcommand !== undefined) {
      input.fail(`warren usage: unexpected "${subcommand}" (filters are flags)\n\n${USAGE_HELP}`);
      return 2;
    }
    const filter: UsageFilter = {};
    if (input.since !== undefined) {
      const at = Date.parse(input.since);
      if (!/^\d{4}-\d{2}-\d{2}/.test(input.since) || Number.isNaN(at)) {
        input.fail(
          `warren usage: --since "${input.since}" is not an ISO-8601 time (e.g. 2026-05-01 or 2026-05-01T12:00:00Z)\n`,
        );
        return 2;
      }
      filter.since = new Date(at).toISOString();
    }
    if (input.group !== undefined) filter.agentGroupId = resolveGroup(db, input.group).id;
    if (input.user !== undefined) filter.userId = input.user;
    const totals = usageTotals(db, filter);
    const folders = new Map(listAgentGroups(db).map((g) => [g.id, g.folder]));
    const userName = (id: string | null) => (id === null ? '(none)' : (getUser(db, id)?.displayName ?? id));
    const today = usersToday(db, input.now);
    if (input.json) {
      const rows = totals.map((t) => ({
        ...t,
        group: folders.get(t.agentGroupId) ?? t.agentGroupId,
        userToday: t.userId === null ? null : today.of(t.userId),
      }));
      input.write(`${JSON.stringify(rows, null, 2)}\n`);
      return 0;
    }
    // With a filter, only the users it selects; a user's budget counts every group all the same.
    const shown = today.all.filter(
      (u) =>
        (input.user === undefined || u.userId === input.user) &&
        (filter.agentGroupId === undefined || totals.some((t) => t.userId === u.userId)),
    );
    input.write(table(totals, (id) => folders.get(id) ?? id, userName) + budgetTable(shown, userName));
    return 0;
  });
}

/** Every user's tokens today and budget: those with a budget or tokens today, and any one asked for. */
function usersToday(db: Db, now: Date): { all: UserToday[]; of: (userId: string) => UserToday } {
  const day = utcDay(now);
  const used = tokensUsedPerUser(db, day.start, day.end);
  const budgets = listUserDailyTokenBudgets(db);
  const of = (userId: string): UserToday => ({
    userId,
    usedToday: used.get(userId) ?? 0,
    dailyTokenBudget: budgets.get(userId) ?? null,
    resetsAt: day.end,
  });
  const ids = [...new Set([...budgets.keys(), ...used.keys()])];
  return {
    all: ids.map(of).sort((a, b) => b.usedToday - a.usedToday || a.userId.localeCompare(b.userId)),
    of,
  };
}

function budgetTable(users: UserToday[], userName: (id: string) => string): string {
  if (users.length === 0) return '';
  const rows = users.map((u) => [
    userName(u.userId) === u.userId ? u.userId : `${userName(u.userId)} (${u.userId})`,
    String(u.usedToday),
    u.dailyTokenBudget === null ? '-' : String(u.dailyTokenBudget),
    u.dailyTokenBudget === null ? '-' : String(Math.max(0, u.dailyTokenBudget - u.usedToday)),
  ]);
  return (
    `\ntoday (UTC, resets at ${users[0]!.resetsAt}), every agent group together:\n` +
    renderTable(['USER', 'USED TODAY', 'DAILY BUDGET', 'LEFT'], rows)
  );
}

function table(
  totals: UsageTotals[],
  folder: (id: string) => string,
  userName: (id: string | null) => string,
): string {
  if (totals.length === 0) return 'no model calls recorded\n';
  const sum = (t: UsageTotals) => t.inputTokens + t.outputTokens + t.cacheReadTokens + t.cacheWriteTokens;
  const rows = totals.map((t) => [
    folder(t.agentGroupId),
    t.userId === null
      ? '(none)'
      : `${userName(t.userId)}${userName(t.userId) === t.userId ? '' : ` (${t.userId})`}`,
    String(t.requests),
    String(t.errors),
    String(t.inputTokens),
    String(t.outputTokens),
    String(t.cacheReadTokens),
    String(t.cacheWriteTokens),
    String(sum(t)),
    t.lastAt,
  ]);
  const all = totals.reduce((n, t) => n + sum(t), 0);
  const head = [
    'GROUP',
    'USER',
    'CALLS',
    'ERRORS',
    'INPUT',
    'OUTPUT',
    'CACHE READ',
    'CACHE WRITE',
    'TOTAL',
    'LAST CALL',
  ];
  return `${renderTable(head, rows)}\n${all} tokens in all\n`;
}
