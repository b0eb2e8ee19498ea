// The host's reads of outbound.db: it never writes that file while a runner may be alive.
import {
  outboundOperation,
  parseContent,
  type AckRow,
  type MessageOutRow,
  type OutboundOperation,
} from '../../db/session-schema.ts';
import { withSessionFile, type SessionPaths } from './files.ts';

export type OutboundMessage = MessageOutRow &
  ({ op: OutboundOperation; error?: undefined } | { op?: undefined; error: string });

/**
 * Outbound rows above `afterSeq` that have no `delivered` record yet, oldest first, each parsed
 * with the shared schema. A row whose content is invalid comes back with `error` instead of `op`
 * so delivery can record it as failed rather than crash or retry it forever.
 */
export function readUndelivered(paths: SessionPaths, afterSeq = 0): OutboundMessage[] {
  const rows = withSessionFile(
    paths,
    'outbound',
    'read',
    (db) =>
      db.prepare('SELECT * FROM messages_out WHERE seq > ? ORDER BY seq').all(afterSeq) as MessageOutRow[],
  );
  if (rows.length === 0) return [];
  // Delivered records only for the rows read, not the session's whole history.
  const delivered = new Set(
    withSessionFile(paths, 'inbound', 'read', (db) =>
      db
        .prepare(
          'SELECT message_out_id FROM delivered WHERE message_out_id IN (SELECT value FROM json_each(?))',
        )
        .pluck()
        .all(JSON.stringify(rows.map((r) => r.id))),
    ) as string[],
  );
  return rows
    .filter((row) => !delivered.has(row.id))
    .map((row) => {
      const parsed = parseContent(outboundOperation, row.content);
      return parsed.ok ? { ...row, op: parsed.value } : { ...row, error: parsed.error };
    });
}

export function readAcks(paths: SessionPaths): AckRow[] {
  return withSessionFile(
    paths,
    'outbound',
    'read',
    (db) => db.prepare('SELECT * FROM processing_ack ORDER BY status_changed').all() as AckRow[],
  );
}
