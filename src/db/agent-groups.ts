import { z } from 'zod';
import type { Db } from './connection.ts';
import { PROVIDERS, type Provider } from './enums.ts';
import { newId } from './ids.ts';

export interface AgentGroup {
  id: string;
  name: string;
  folder: string;
  provider: Provider;
  model: string | null;
  timezone: string | null;
  /** Image, limits, MCP servers, packages, mounts: its shape belongs to the container subsystem. */
  containerConfig: Record<string, unknown>;
  createdAt: string;
  updatedAt: string;
}

const timezone = z.string().refine(isTimeZone, { message: 'not an IANA time zone (e.g. Europe/Lisbon)' });

const settings = z.object({
  provider: z.enum(PROVIDERS),
  model: z.string().trim().min(1).max(200).nullable(),
  timezone: timezone.nullable(),
  containerConfig: z.record(z.string(), z.json()),
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
  created_at AS createdAt, updated_at AS updatedAt`;

type Row = Omit<AgentGroup, 'containerConfig'> & { containerConfig: string };

export function createAgentGroup(db: Db, input: NewAgentGroup, now: string): AgentGroup {
  const g = newAgentGroup.parse(input);
  const row = db
    .prepare(
      `INSERT INTO agent_groups (id, name, folder, provider, model, timezone, container_config, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING ${COLUMNS}`,
    )
    .get(
      newId('ag'),
      g.name,
      g.folder,
      g.provider ?? 'scripted',
      g.model ?? null,
      g.timezone ?? null,
      JSON.stringify(g.containerConfig ?? {}),
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
      const row = db
        .prepare(
          `UPDATE agent_groups SET provider = ?, model = ?, timezone = ?, container_config = ?, updated_at = ?
           WHERE id = ? RETURNING ${COLUMNS}`,
        )
        .get(
          c.provider ?? current.provider,
          c.model === undefined ? current.model : c.model,
          c.timezone === undefined ? current.timezone : c.timezone,
          JSON.stringify(c.containerConfig ?? current.containerConfig),
          now,
          id,
        ) as Row;
      return toAgentGroup(row);
    })
    .immediate();
}

function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

function toAgentGroup(row: Row): AgentGroup {
  return { ...row, containerConfig: JSON.parse(row.containerConfig) as Record<string, unknown> };
}
