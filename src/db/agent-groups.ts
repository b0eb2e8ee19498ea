import { z } from 'zod';
import type { Db } from './connection.ts';
import { PROVIDERS, type Provider } from './enums.ts';
import { newId } from './ids.ts';
import { isTimeZone } from '../shared/time-zone.ts';

export interface AgentGroup {
  id: string;
  name: string;
  folder: string;
  provider: Provider;
  model: string | null;
  timezone: string | null;
  /** Image, limits, MCP servers, packages, mounts: its shape belongs to the container subsystem. */
  containerConfig: Record<string, unknown>;
  /** Where the gateway sends the group's model calls and what it allows (docs/models.md). */
  modelConfig: ModelConfig;
  createdAt: string;
  updatedAt: string;
}

/**
 * Per-group model settings (agent_groups.model_config). Provider and model have their own columns.
 * The key itself never lives here: only the name it is found under on the host.
 */
export const modelConfigSchema = z
  .object({
    /** Upstream API root; defaults per provider (https://api.anthropic.com, https://api.openai.com/v1). */
    baseUrl: z
      .url({ protocol: /^https?$/, error: 'baseUrl must be an http:// or https:// URL' })
      .refine(plainUrl, 'baseUrl must not carry a user name, password, query or fragment')
      .transform((url) => url.replace(/\/+$/, '')),
    /** Environment variable or secrets.json entry holding the key. */
    apiKeyName: z
      .string()
      .regex(/^[A-Z_][A-Z0-9_]{0,127}$/, 'apiKeyName is an environment-style name such as ANTHROPIC_API_KEY'),
    /** Models the group may call; default: just its configured model. An entry ending in * is a prefix. */
    allowedModels: z.array(z.string().trim().min(1).max(200)).min(1).max(100),
    requestsPerMinute: z.number().int().min(1).max(100_000),
    /** Tokens per UTC day, every token the provider reports (input, output, cache reads and writes). */
    dailyTokenBudget: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
    /** Tools the agent may use (the runner applies this). */
    allowedTools: z
      .array(
        z
          .string()
          .regex(/^[A-Za-z0-9_.:*-]{1,128}$/, 'a tool name such as Bash or mcp__warren__send_message'),
      )
      .max(200),
    /** Upstream wait for the first byte and between chunks. */
    timeoutMs: z.number().int().min(1000).max(3_600_000),
  })
  .partial()
  .strict();

export type ModelConfig = z.infer<typeof modelConfigSchema>;

/** An agent group's model settings that cannot be used; names the group and every problem. */
export class ModelConfigError extends Error {
  override name = 'ModelConfigError';
  constructor(
    readonly group: string,
    detail: string,
  ) {
    super(`agent group ${group}: invalid model settings: ${detail}`);
  }
}

/** Validates model settings (from the CLI, the API or the database) or throws ModelConfigError. */
export function parseModelConfig(input: unknown, group: string): ModelConfig {
  const parsed = modelConfigSchema.safeParse(input);
  if (!parsed.success) throw new ModelConfigError(group, z.prettifyError(parsed.error).replace(/\n/g, '; '));
  return parsed.data;
}

const timezone = z.string().refine(isTimeZone, { message: 'not an IANA time zone (e.g. Europe/Lisbon)' });

const settings = z.object({
  provider: z.enum(PROVIDERS),
  model: z.string().trim().min(1).max(200).nullable(),
  timezone: timezone.nullable(),
  containerConfig: z.record(z.string(), z.json()),
  modelConfig: z.unknown(),
});

const newAgentGroup = settings.partial().extend({
  name: z.string().trim().min(1).max(200),
  // Becomes a directory name under groups/: lowercase, no dots or slashes.
  folder: z
    .string()
    .regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'use 1-64 of a-z, 0-9, _ and -, starting with a letter or digit'),
});

export type NewAgentGroup = z.input<typeof newAgentGroup>;
export type AgentGroupSettings = Partial<z.input<typeof settings>>;

const COLUMNS = `id, name, folder, provider, model, timezone, container_config AS containerConfig,
  model_config AS modelConfig, created_at AS createdAt, updated_at AS updatedAt`;

type Row = Omit<AgentGroup, 'containerConfig' | 'modelConfig'> & {
  containerConfig: string;
  modelConfig: string;
};

export function createAgentGroup(db: Db, input: NewAgentGroup, now: string): AgentGroup {
  const g = newAgentGroup.parse(input);
  const modelConfig = parseModelConfig(g.modelConfig ?? {}, g.folder);
  const row = db
    .prepare(
      `INSERT INTO agent_groups (id, name, folder, provider, model, timezone, container_config, model_config,
         created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING ${COLUMNS}`,
    )
    .get(
      newId('ag'),
      g.name,
      g.folder,
      g.provider ?? 'scripted',
      g.model ?? null,
      g.timezone ?? null,
      JSON.stringify(g.containerConfig ?? {}),
      JSON.stringify(modelConfig),
      now,
      now,
    ) as Row;
  return toAgentGroup(row);
}

export function getAgentGroup(db: Db, id: string): AgentGroup | undefined {
  const row = db.prepare(`SELECT ${COLUMNS} FROM agent_groups WHERE id = ?`).get(id) as Row | undefined;
  return row && toAgentGroup(row);
}

export function getAgentGroupByFolder(db: Db, folder: string): AgentGroup | undefined {
  const row = db.prepare(`SELECT ${COLUMNS} FROM agent_groups WHERE folder = ?`).get(folder) as
    Row | undefined;
  return row && toAgentGroup(row);
}

export function listAgentGroups(db: Db): AgentGroup[] {
  const rows = db.prepare(`SELECT ${COLUMNS} FROM agent_groups ORDER BY name, id`).all() as Row[];
  return rows.map(toAgentGroup);
}

/** Changes only the fields present in `changes` (null clears); undefined when there is no such group. */
export function updateAgentGroup(
  db: Db,
  id: string,
  changes: AgentGroupSettings,
  now: string,
): AgentGroup | undefined {
  const c = settings.partial().parse(changes);
  return db
    .transaction(() => {
      const current = getAgentGroup(db, id);
      if (!current) return undefined;
      const modelConfig =
        c.modelConfig === undefined ? current.modelConfig : parseModelConfig(c.modelConfig, current.folder);
      const row = db
        .prepare(
          `UPDATE agent_groups SET provider = ?, model = ?, timezone = ?, container_config = ?, model_config = ?,
             updated_at = ?
           WHERE id = ? RETURNING ${COLUMNS}`,
        )
        .get(
          c.provider ?? current.provider,
          c.model === undefined ? current.model : c.model,
          c.timezone === undefined ? current.timezone : c.timezone,
          JSON.stringify(c.containerConfig ?? current.containerConfig),
          JSON.stringify(modelConfig),
          now,
          id,
        ) as Row;
      return toAgentGroup(row);
    })
    .immediate();
}

function plainUrl(raw: string): boolean {
  const url = new URL(raw);
  return !url.username && !url.password && !url.search && !url.hash;
}

function toAgentGroup(row: Row): AgentGroup {
  return {
    ...row,
    containerConfig: JSON.parse(row.containerConfig) as Record<string, unknown>,
    // A hand-edited row fails here, naming the group, instead of surprising the gateway later.
    modelConfig: parseModelConfig(JSON.parse(row.modelConfig), row.folder),
  };
}
