import { z } from 'zod';
import type { Db } from './connection.ts';
import { UNKNOWN_SENDER_POLICIES, type UnknownSenderPolicy } from './enums.ts';
import { newId } from './ids.ts';

/** One chat on one platform. */
export interface MessagingGroup {
  id: string;
  channelType: string;
  platformId: string;
  name: string | null;
  isGroup: boolean;
  unknownSenderPolicy: UnknownSenderPolicy;
  deniedAt: string | null;
  createdAt: string;
}

const newMessagingGroup = z.object({
  channelType: z.string().regex(/^[a-z][a-z0-9_-]{0,31}$/, 'a channel type is a short lowercase name'),
  platformId: z.string().min(1).max(512),
  name: z.string().max(200).nullish(),
  isGroup: z.boolean().default(false),
  unknownSenderPolicy: z.enum(UNKNOWN_SENDER_POLICIES).default('strict'),
});

export type NewMessagingGroup = z.input<typeof newMessagingGroup>;

const COLUMNS = `id, channel_type AS channelType, platform_id AS platformId, name, is_group AS isGroup,
  unknown_sender_policy AS unknownSenderPolicy, denied_at AS deniedAt, created_at AS createdAt`;

type Row = Omit<MessagingGroup, 'isGroup'> & { isGroup: 0 | 1 };

export function createMessagingGroup(db: Db, input: NewMessagingGroup, now: string): MessagingGroup {
  const m = newMessagingGroup.parse(input);
  const row = db
    .prepare(
      `INSERT INTO messaging_groups (id, channel_type, platform_id, name, is_group, unknown_sender_policy, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING ${COLUMNS}`,
    )
    .get(
      newId('mg'),
      m.channelType,
      m.platformId,
      m.name ?? null,
      m.isGroup ? 1 : 0,
      m.unknownSenderPolicy,
      now,
    ) as Row;
  return toMessagingGroup(row);
}

export function getMessagingGroup(db: Db, id: string): MessagingGroup | undefined {
  const row = db.prepare(`SELECT ${COLUMNS} FROM messaging_groups WHERE id = ?`).get(id) as Row | undefined;
  return row && toMessagingGroup(row);
}

export function findMessagingGroup(
  db: Db,
  channelType: string,
  platformId: string,
): MessagingGroup | undefined {
  const row = db
    .prepare(`SELECT ${COLUMNS} FROM messaging_groups WHERE channel_type = ? AND platform_id = ?`)
    .get(channelType, platformId) as Row | undefined;
  return row && toMessagingGroup(row);
}

/** The chat's row, created on first contact; an existing row is returned unchanged. */
export function findOrCreateMessagingGroup(
  db: Db,
  input: NewMessagingGroup,
  now: string,
): { messagingGroup: MessagingGroup; created: boolean } {
  return db
    .transaction(() => {
      const existing = findMessagingGroup(db, input.channelType, input.platformId);
      if (existing) return { messagingGroup: existing, created: false };
      return { messagingGroup: createMessagingGroup(db, input, now), created: true };
    })
    .immediate();
}

export function listMessagingGroups(db: Db): MessagingGroup[] {
  const rows = db
    .prepare(`SELECT ${COLUMNS} FROM messaging_groups ORDER BY channel_type, platform_id`)
    .all() as Row[];
  return rows.map(toMessagingGroup);
}

export function setUnknownSenderPolicy(db: Db, id: string, policy: UnknownSenderPolicy): boolean {
  const p = z.enum(UNKNOWN_SENDER_POLICIES).parse(policy);
  return (
    db.prepare('UPDATE messaging_groups SET unknown_sender_policy = ? WHERE id = ?').run(p, id).changes === 1
  );
}

/** Marks the chat as denied (nothing from it is routed); false when it was already denied or is unknown. */
export function denyMessagingGroup(db: Db, id: string, now: string): boolean {
  return (
    db.prepare('UPDATE messaging_groups SET denied_at = ? WHERE id = ? AND denied_at IS NULL').run(now, id)
      .changes === 1
  );
}

/** Lifts a denial (an operator wired the chat after all); false when it was not denied. */
export function allowMessagingGroup(db: Db, id: string): boolean {
  return (
    db.prepare('UPDATE messaging_groups SET denied_at = NULL WHERE id = ? AND denied_at IS NOT NULL').run(id)
      .changes === 1
  );
}

function toMessagingGroup(row: Row): MessagingGroup {
  return { ...row, isGroup: row.isGroup === 1 };
}
