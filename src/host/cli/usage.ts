// `warren usage [--group NAME] [--user ID] [--since ISO]`: tokens the model gateway recorded, totalled
// per agent group and user (docs/models.md). Read-only; works whether or not the host is running.
import { existsSync } from 'node:fs';
import { getAgentGroupByFolder, listAgentGroups } from '../../db/agent-groups.ts';
import { openCentralDb } from '../../db/connection.ts';
import { usageTotals, type UsageFilter, type UsageTotals } from '../../db/model-usage.ts';
import { getUser } from '../../db/users.ts';
import type { Config } from '../config.ts';

export interface UsageInput {
  config: Config;
  group: string | undefined;
  user: string | undefined;
  since: string | undefined;
  json: boolean;
  write: (text: string) => void;
  fail: (text: string) => void;
}

export function runUsageCommand(input: UsageInput): number {
  const { config } = input;
  if (!existsSync(config.centralDbPath)) {
    input.fail(
      `warren usage: no database at ${config.centralDbPath}; run warren init (or pass --data-dir)\n`,
    );
    return 1;
  }
  let since: string | undefined;
  if (input.since !== undefined) {
    const at = Date.parse(input.since);
    if (!/^\d{4}-\d{2}-\d{2}/.test(input.since) || Number.isNaN(at)) {
      input.fail(
        `warren usage: --since "${input.since}" is not an ISO-8601 time (e.g. 2026-05-01 or 2026-05-01T12:00:00Z)\n`,
      );
      return 2;
    }
    since = new Date(at).toISOString();
  }
  const db = openCentralDb(config.centralDbPath);
  try {
    const filter: UsageFilter = { since };
    if (input.group !== undefined) {
      const group =
        getAgentGroupByFolder(db, input.group) ?? listAgentGroups(db).find((g) => g.name === input.group);
      if (!group) {
        input.fail(`warren usage: no agent group "${input.group}" (warren groups list shows them)\n`);
        return 1;
      }
      filter.agentGroupId = group.id;
    }
    if (input.user !== undefined) filter.userId = input.user;
    const totals = usageTotals(db, filter);
    const folders = new Map(listAgentGroups(db).map((g) => [g.id, g.folder]));
    const userName = (id: string | null) => (id === null ? '(none)' : (getUser(db, id)?.displayName ?? id));
    if (input.json) {
      const rows = totals.map((t) => ({ ...t, group: folders.get(t.agentGroupId) ?? t.agentGroupId }));
      input.write(`${JSON.stringify(rows, null, 2)}\n`);
      return 0;
    }
    input.write(table(totals, (id) => folders.get(id) ?? id, userName));
    return 0;
  } finally {
    db.close();
  }
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
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const lines = [head, ...rows].map((r) =>
    r
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd(),
  );
  return `${lines.join('\n')}\n\n${all} tokens in all\n`;
}
