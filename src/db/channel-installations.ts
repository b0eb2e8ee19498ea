// One configured bot/account per platform. Config holds references to secrets (env names, files),
// never the secrets themselves: this table is exported and shown in the dashboard.
import { z } from 'zod';
import type { Db } from './connection.ts';
import { INSTALLATION_STATUSES, type InstallationStatus } from './enums.ts';
import { newId } from './ids.ts';

export interface ChannelInstallation {
  id: string;
  channelType: string;
  name: string;
  /** Adapter-specific; each adapter validates its own shape. */
  config: Record<string, unknown>;
  status: InstallationStatus;
  createdAt: string;
  updatedAt: string;
}

const newInstallation = z.object({
  channelType: z.string().regex(/^[a-z][a-z0-9_-]{0,31}$/, 'a channel type is a short lowercase name'),
  name: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'use 1-64 of a-z, 0-9, _ and -'),
  config: z.record(z.string(), z.json()).default({}),
  status: z.enum(INSTALLATION_STATUSES).default('enabled'),
});

export type NewChannelInstallation = z.input<typeof newInstallation>;

const COLUMNS = `id, channel_type AS channelType, name, config, status, created_at AS createdAt, updated_at AS updatedAt`;

type Row = Omit<ChannelInstallation, 'config'> & { config: string };

export function createChannelInstallation(
  db: Db,
  input: NewChannelInstallation,
  now: string,
): ChannelInstallation {
  const i = newInstallation.parse(input);
  const row = db
    .prepare(
      `INSERT INTO channel_installations (id, channel_type, name, config, status, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING ${COLUMNS}`,
    )
    .get(newId('ci'), i.channelType, i.name, JSON.stringify(i.config), i.status, now, now) as Row;
  return toInstallation(row);
}

export function getChannelInstallation(db: Db, id: string): ChannelInstallation | undefined {
  const row = db.prepare(`SELECT ${COLUMNS} FROM channel_installations WHERE id = ?`).get(id) as
    Row | undefined;
  return row && toInstallation(row);
}

export function listChannelInstallations(db: Db, status?: InstallationStatus): ChannelInstallation[] {
  const rows = db
    .prepare(
      `SELECT ${COLUMNS} FROM channel_installations WHERE ? IS NULL OR status = ? ORDER BY channel_type, name`,
    )
    .all(status ?? null, status ?? null) as Row[];
  return rows.map(toInstallation);
}

export function setInstallationStatus(db: Db, id: string, status: InstallationStatus, now: string): boolean {
  const s = z.enum(INSTALLATION_STATUSES).parse(status);
  return (
    db.prepare('UPDATE channel_installations SET status = ?, updated_at = ? WHERE id = ?').run(s, now, id)
      .changes === 1
  );
}

function toInstallation(row: Row): ChannelInstallation {
  return { ...row, config: JSON.parse(row.config) as Record<string, unknown> };
}

/** True when a row was removed. The installation's chats, wirings and sessions stay. */
export function removeChannelInstallation(db: Db, id: string): boolean {
  return db.prepare('DELETE FROM channel_installations WHERE id = ?').run(id).changes === 1;
}
