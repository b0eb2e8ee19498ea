// `warren groups list|show|model`: agent groups and the model each uses (docs/models.md). Works on the
// central database whether or not the host is running; limits apply to the next model call, provider
// and model to the group's next container start. Key values are never printed, only whether they exist.
import {
  getAgentGroupByFolder,
  listAgentGroups,
  ModelConfigError,
  parseModelConfig,
  updateAgentGroup,
  type AgentGroup,
  type ModelConfig,
} from '../../db/agent-groups.ts';
import { appendAuditEvent } from '../../db/audit.ts';
import type { Db } from '../../db/connection.ts';
import { PROVIDERS, type Provider } from '../../db/enums.ts';
import { tokensUsedByGroup } from '../../db/model-usage.ts';
import type { Config } from '../config.ts';
import { describeGroupModel, groupModelView, loadSecrets, utcDay } from '../gateway/index.ts';
import { withCentralDb } from './central-db.ts';
import { renderTable } from './table.ts';

/** `warren groups model` flags, as given (strings); an empty string clears a setting. */
export interface ModelFlags {
  provider?: string;
  model?: string;
  baseUrl?: string;
  keyName?: string;
  allowModels?: string;
  rpm?: string;
  dailyTokens?: string;
  tools?: string;
  timeoutMs?: string;
}

export interface GroupsInput {
  config: Config;
  subcommand: string | undefined;
  name: string | undefined;
  flags: ModelFlags;
  json: boolean;
  env: NodeJS.ProcessEnv;
  now: Date;
  /** Who is acting, for the audit trail (`cli:<login>`). */
  actor: string;
  write: (text: string) => void;
  fail: (text: string) => void;
}

export const GROUPS_HELP = `warren groups list [--json]             every agent group: provider, model, base URL, key status, limits
warren groups show NAME [--json]        one group in full, with today's token count
warren groups model NAME [options]      change its provider, model or limits (docs/models.md)
NAME is an agent group's folder (e.g. main) or name.

options (model; they merge into the current settings; an empty value clears one):
  --provider P       claude, openai (any OpenAI-compatible server) or scripted
  --model M          the model the agent uses (required for claude and openai)
  --base-url URL     the API root, e.g. http://127.0.0.1:11434/v1 for Ollama
  --key-name NAME    environment variable or secrets.json entry holding the key
  --allow-models L   comma-separated models the agent may call (default: --model; a* = prefix)
  --rpm N            model calls per minute
  --daily-tokens N   tokens per UTC day
  --tools L          comma-separated tools the agent may use
  --timeout-ms N     upstream wait for the first byte and between chunks (default 120000)
`;

export function runGroupsCommand(input: GroupsInput): Promise<number> {
  const { subcommand, name } = input;
  return withCentralDb({ name: 'groups', sub: subcommand, usage: GROUPS_HELP }, input, (db) => {
    if (subcommand !== undefined && !['list', 'show', 'model'].includes(subcommand)) {
      input.fail(`warren groups: unknown subcommand "${subcommand}"\n\n${GROUPS_HELP}`);
      return 2;
    }
    const keys = keyLookup(input);
    if (subcommand === 'list' || subcommand === undefined) {
      const groups = listAgentGroups(db);
      input.write(
        input.json
          ? `${JSON.stringify(
              groups.map((g) => groupModelView(g, keys.get)),
              null,
              2,
            )}\n`
          : table(groups, keys.get),
      );
      return 0;
    }
    if (!name) {
      input.fail(
        `warren groups ${subcommand}: give the agent group's folder name (warren groups list shows them)\n`,
      );
      return 2;
    }
    const group = resolveGroup(db, name);
    if (subcommand === 'show') {
      const day = utcDay(input.now);
      const used = tokensUsedByGroup(db, group.id, day.start, day.end);
      input.write(
        input.json
          ? `${JSON.stringify({ ...groupModelView(group, keys.get), tokensToday: used }, null, 2)}\n`
          : describe(group, keys.get, used),
      );
      if (keys.warning) input.fail(`warning: ${keys.warning}\n`);
      return 0;
    }
    return changeModel(db, group, keys, input);
  });
}

function changeModel(
  db: Db,
  group: AgentGroup,
  keys: ReturnType<typeof keyLookup>,
  input: GroupsInput,
): number {
  const plan = planModelChange(group, input.flags);
  if (!plan.ok) {
    input.fail(`warren groups model: ${plan.error}\n`);
    return 2;
  }
  const now = input.now.toISOString();
  let updated: AgentGroup | undefined;
  try {
    updated = db
      .transaction(() => {
        const next = updateAgentGroup(db, group.id, plan.changes, now);
        appendAuditEvent(
          db,
          {
            actor: input.actor,
            action: 'agent_group.model_changed',
            targetKind: 'agent_group',
            targetId: group.id,
            detail: {
              before: { provider: group.provider, model: group.model, modelConfig: group.modelConfig },
              after: next
                ? { provider: next.provider, model: next.model, modelConfig: next.modelConfig }
                : null,
            },
          },
          now,
        );
        return next;
      })
      .immediate();
  } catch (err) {
    if (err instanceof ModelConfigError) {
      input.fail(`warren groups model: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  if (!updated) throw new Error(`agent group "${group.folder}" disappeared meanwhile`);
  const status = describeGroupModel(updated, keys.get);
  input.write(
    `${status.message}\n${plan.notes.map((n) => `note: ${n}\n`).join('')}` +
      'limits apply to the next model call; provider and model to the next container start of each session\n',
  );
  if (status.level === 'warn') input.fail(`warning: ${status.message}\n`);
  if (keys.warning) input.fail(`warning: ${keys.warning}\n`);
  return 0;
}

export type ModelChangePlan =
  | {
      ok: true;
      changes: { provider: Provider; model: string | null; modelConfig: ModelConfig };
      notes: string[];
    }
  | { ok: false; error: string };

/**
 * Pure: the group's next provider, model and model settings from the flags. Flags merge into the
 * current settings; an empty value clears one. A new provider starts from its own defaults.
 */
export function planModelChange(group: AgentGroup, flags: ModelFlags): ModelChangePlan {
  if (Object.values(flags).every((v) => v === undefined)) {
    return {
      ok: false,
      error: 'nothing to change: give --provider, --model or a setting (warren groups help)',
    };
  }
  const notes: string[] = [];
  let provider = group.provider;
  if (flags.provider !== undefined) {
    if (!(PROVIDERS as readonly string[]).includes(flags.provider)) {
      return {
        ok: false,
        error: `--provider must be one of ${PROVIDERS.join(', ')}, got "${flags.provider}"`,
      };
    }
    provider = flags.provider as Provider;
  }
  const switched = provider !== group.provider;
  const config: Record<string, unknown> = { ...group.modelConfig };
  let model = group.model;
  if (switched) {
    // Another provider's URL, key name and model names would be wrong for this one.
    for (const key of ['baseUrl', 'apiKeyName', 'allowedModels'] as const) {
      if (config[key] !== undefined) {
        delete config[key];
        notes.push(`${key} was reset for the new provider`);
      }
    }
    model = provider === 'scripted' ? null : flags.model ? flags.model : null;
  }
  if (flags.model !== undefined) model = flags.model.trim() === '' ? null : flags.model.trim();
  if (provider !== 'scripted' && !model) {
    return {
      ok: false,
      error: `--model is required: the ${provider} provider needs a model name (e.g. claude-sonnet-4-5, gpt-4.1-mini, llama3.1)`,
    };
  }
  const set = (key: string, value: unknown) => {
    if (value === undefined) return;
    if (value === null) delete config[key];
    else config[key] = value;
  };
  try {
    set('baseUrl', text(flags.baseUrl));
    set('apiKeyName', text(flags.keyName));
    set('allowedModels', list(flags.allowModels));
    set('allowedTools', list(flags.tools));
    set('requestsPerMinute', count('--rpm', flags.rpm));
    set('dailyTokenBudget', count('--daily-tokens', flags.dailyTokens));
    set('timeoutMs', count('--timeout-ms', flags.timeoutMs));
    const modelConfig = parseModelConfig(config, group.folder);
    return { ok: true, changes: { provider, model, modelConfig }, notes };
  } catch (err) {
    if (err instanceof FlagError || err instanceof ModelConfigError) return { ok: false, error: err.message };
    throw err;
  }
}

class FlagError extends Error {}

/** undefined: not given; null: clear. */
const text = (raw: string | undefined) =>
  raw === undefined ? undefined : raw.trim() === '' ? null : raw.trim();

function list(raw: string | undefined): string[] | null | undefined {
  const value = text(raw);
  if (typeof value !== 'string') return value;
  return value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

function count(flag: string, raw: string | undefined): number | null | undefined {
  const value = text(raw);
  if (typeof value !== 'string') return value;
  if (!/^\d+$/.test(value)) throw new FlagError(`${flag} must be a whole number, got "${value}"`);
  return Number(value);
}

/** An agent group by folder or name; throws (exit 1, under the command's name) when there is none. */
export function resolveGroup(db: Db, name: string): AgentGroup {
  const group = getAgentGroupByFolder(db, name) ?? listAgentGroups(db).find((g) => g.name === name);
  if (!group) throw new Error(`no agent group "${name}" (warren groups list shows them)`);
  return group;
}

type KeyLookup = (name: string) => string | undefined;

/** Key presence for display; a secrets file that cannot be used is a warning here, not a failure. */
function keyLookup(input: GroupsInput): { get: KeyLookup; warning?: string } {
  try {
    const secrets = loadSecrets({ file: input.config.secretsFile, env: input.env });
    return { get: (name) => secrets.get(name) };
  } catch (err) {
    return { get: (name) => input.env[name] || undefined, warning: (err as Error).message };
  }
}

function table(groups: AgentGroup[], keys: KeyLookup): string {
  if (groups.length === 0) return 'no agent groups (warren init creates main)\n';
  const rows = groups.map((g) => {
    const v = groupModelView(g, keys);
    return [v.folder, v.name, v.provider, v.model ?? '-', v.baseUrl ?? '-', v.key, limits(g.modelConfig)];
  });
  const head = ['GROUP', 'NAME', 'PROVIDER', 'MODEL', 'BASE URL', 'KEY', 'LIMITS'];
  return renderTable(head, rows);
}

function limits(c: ModelConfig): string {
  const parts = [
    c.requestsPerMinute !== undefined ? `${c.requestsPerMinute}/min` : undefined,
    c.dailyTokenBudget !== undefined ? `${c.dailyTokenBudget} tokens/day` : undefined,
  ].filter(Boolean);
  return parts.length > 0 ? parts.join(', ') : '-';
}

function describe(group: AgentGroup, keys: KeyLookup, usedToday: number): string {
  const c = group.modelConfig;
  const v = groupModelView(group, keys);
  const lines = [
    `group            ${group.folder} (${group.name}, ${group.id})`,
    `provider         ${group.provider}`,
    `model            ${group.model ?? '-'}`,
    `base URL         ${v.baseUrl ?? '-'}`,
    `key              ${v.key}`,
    `allowed models   ${c.allowedModels?.join(', ') ?? (group.model ? `${group.model} (the model)` : '-')}`,
    `allowed tools    ${c.allowedTools?.join(', ') ?? 'the runner’s defaults'}`,
    `calls per minute ${c.requestsPerMinute ?? 'no limit'}`,
    `tokens per day   ${c.dailyTokenBudget ?? 'no limit'} (${usedToday} used today, UTC)`,
    `timeout          ${c.timeoutMs ?? 120_000} ms`,
  ];
  return `${lines.join('\n')}\n`;
}
