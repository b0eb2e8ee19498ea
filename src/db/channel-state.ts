// What a chat platform's adapter remembers across restarts, as short strings by key per channel: an
// IMAP mailbox's (UIDVALIDITY, last UID) cursor, the service URL a Teams conversation is served from.
import type { Db } from './connection.ts';

export function getChannelState(db: Db, channelType: string, key: string): string | undefined {
  const row = db
    .prepare('SELECT value FROM channel_state WHERE channel_type = ? AND key = ?')
    .get(channelType, key) as { value: string } | undefined;
  return row?.value;
}

export function setChannelState(db: Db, channelType: string, key: string, value: string, now: string): void {
  db.prepare(
    `INSERT INTO channel_state (channel_type, key, value, updated_at) VALUES (?, ?, ?, ?)
     ON CONFLICT (channel_type, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
  ).run(channelType, key, value, now);
}
