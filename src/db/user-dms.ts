// The direct-message chat we know for a user on each channel type: where approval cards and
// notifications go.
import type { Db } from './connection.ts';

export interface UserDm {
  userId: string;
  channelType: string;
  messagingGroupId: string;
  updatedAt: string;
}

const COLUMNS =
  'user_id AS userId, channel_type AS channelType, messaging_group_id AS messagingGroupId, updated_at AS updatedAt';

export class UnknownMessagingGroupError extends Error {
  override name = 'UnknownMessagingGroupError';
  constructor(readonly messagingGroupId: string) {
    super(`messaging group ${messagingGroupId} does not exist; the DM was not recorded`);
  }
}

/**
 * Remembers `messagingGroupId` as the user's DM on that chat's channel type, replacing an older one.
 * The channel type is taken from the chat itself so the two cannot disagree.
 */
export function setUserDm(db: Db, userId: string, messagingGroupId: string, now: string): UserDm {
  const row = db
    .prepare(
      `INSERT INTO user_dms (user_id, channel_type, messaging_group_id, updated_at)
       SELECT ?, channel_type, id, ? FROM messaging_groups WHERE id = ?
       ON CONFLICT (user_id, channel_type) DO UPDATE
         SET messaging_group_id = excluded.messaging_group_id, updated_at = excluded.updated_at
       RETURNING ${COLUMNS}`,
    )
    .get(userId, now, messagingGroupId) as UserDm | undefined;
  if (!row) throw new UnknownMessagingGroupError(messagingGroupId);
  return row;
}

export function getUserDm(db: Db, userId: string, channelType: string): UserDm | undefined {
  return db
    .prepare(`SELECT ${COLUMNS} FROM user_dms WHERE user_id = ? AND channel_type = ?`)
    .get(userId, channelType) as UserDm | undefined;
}

export function listUserDms(db: Db, userId: string): UserDm[] {
  return db
    .prepare(`SELECT ${COLUMNS} FROM user_dms WHERE user_id = ? ORDER BY updated_at DESC`)
    .all(userId) as UserDm[];
}
