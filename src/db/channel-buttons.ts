// Card option values behind the short tokens platform buttons carry (Telegram's callback_data holds 64
// bytes; an approval option value is longer). A token is a hash of its value: the same value always
// gets the same token, and a token nobody issued finds nothing.
import { createHash } from 'node:crypto';
import type { Db } from './connection.ts';

export function buttonToken(db: Db, value: string, now: string): string {
  const token = `b${createHash('sha256').update(value).digest('base64url').slice(0, 24)}`;
  db.prepare(
    'INSERT INTO channel_buttons (token, value, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING',
  ).run(token, value, now);
  return token;
}

export function buttonValue(db: Db, token: string): string | undefined {
  const row = db.prepare('SELECT value FROM channel_buttons WHERE token = ?').get(token) as
    { value: string } | undefined;
  return row?.value;
}
