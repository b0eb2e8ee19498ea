// The host's reads of outbound.db: it never writes that file while a runner may be alive. Every row is
// written by the container and read as hostile input (DESIGN §10): bounded in rows and bytes, each
// column checked, content parsed only when small and shallow enough; a bad row fails alone.
import { z } from 'zod';
import { MESSAGE_OUT_KINDS, type MessageOutRow } from '../../shared/session-contract.ts';
import { outboundOperation, parseContent, type OutboundOperation } from '../../shared/session-content.ts';
import { withSessionFile, type SessionPaths } from './files.ts';
import { OUTPUT_ID_PATTERN, OUTPUT_LIMITS, SessionUnsafeError, withOutbound } from './output.ts';

/** A messages_out row as the host read it: its operation parsed, or the reason it cannot be used. */
export type OutboundRow = MessageOutRow &
  ({ op: OutboundOperation; error?: undefined } | { op?: undefined; error: string });

export interface OutboundPage {
  /** Rows not yet delivered, oldest first; a row that cannot be used carries `error`. */
  rows: OutboundRow[];
  /** The highest seq read (delivered or not): the next page starts after it. */
  lastSeq: number;
  /** More rows may follow this page. */
  more: boolean;
}

/**
 * One page of outbound rows above `afterSeq` that have no `delivered` record yet. Rows whose seq is not
 * an integer are never read; a row whose id is unusable gets the id `seq_<seq>` (so its failure is
 * recorded once) and an error, as does a row with an oversized field or content, or content that is
 * not valid for the shared schema.
 */
export function readOutboundPage(
  paths: SessionPaths,
  afterSeq = 0,
  lockWaitMs: number = OUTPUT_LIMITS.deliveryLockWaitMs,
): OutboundPage {
  const limit = OUTPUT_LIMITS.rowsPerPage;
  // Delivery's read: no wait for the runner's lock, but SessionBusyError and a back-off.
  const raw = withOutbound(
    paths,
    'read',
    (db) =>
      db.prepare(PAGE_SQL).all({
        afterSeq,
        limit,
        maxField: OUTPUT_LIMITS.maxFieldBytes,
        maxContent: OUTPUT_LIMITS.maxContentBytes,
      }),
    lockWaitMs,
  ) as StoredRow[];
  if (raw.length === 0) return { rows: [], lastSeq: afterSeq, more: false };
  const rows = raw.map(checkRow);
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
  return {
    rows: rows.filter((row) => !delivered.has(row.id)),
    lastSeq: raw[raw.length - 1]!.seq,
    more: raw.length === limit,
  };
}

/** The first page's undelivered rows (for inspection; delivery reads page by page). */
export function readUndelivered(paths: SessionPaths, afterSeq = 0): OutboundRow[] {
  return readOutboundPage(paths, afterSeq, OUTPUT_LIMITS.readLockWaitMs).rows;
}

/** The largest seq the runner has written; an absurd one (past 2^52) makes the session unusable. */
export function maxOutboundSeq(paths: SessionPaths): number {
  const max = withSessionFile(paths, 'outbound', 'read', (db) =>
    db.prepare("SELECT coalesce(max(seq), 0) FROM messages_out WHERE typeof(seq) = 'integer'").pluck().get(),
  ) as number;
  if (max > 2 ** 52)
    throw new SessionUnsafeError(paths.sessionId, `messages_out holds seq ${max}, past 2^52`);
  return Math.max(0, max);
}

/** When the oldest claim still in 'processing' was taken; null when the runner holds none. */
export function oldestClaimAt(paths: SessionPaths): string | null {
  return withSessionFile(paths, 'outbound', 'read', (db) =>
    db.prepare("SELECT min(status_changed) FROM processing_ack WHERE status = 'processing'").pluck().get(),
  ) as string | null;
}

// Every column is returned only when it is small; `oversized` names the columns that were not.
const FIELDS = [
  'id',
  'in_reply_to',
  'timestamp',
  'deliver_after',
  'kind',
  'platform_id',
  'channel_type',
  'thread_id',
];
const PAGE_SQL = `
SELECT seq,
  ${FIELDS.map((f) => `CASE WHEN octet_length(${f}) <= @maxField THEN ${f} END AS ${f}`).join(',\n  ')},
  CASE WHEN octet_length(content) <= @maxContent THEN content END AS content,
  concat_ws(',', ${FIELDS.map((f) => `iif(octet_length(${f}) > @maxField, '${f}', NULL)`).join(', ')},
    iif(octet_length(content) > @maxContent, 'content', NULL)) AS oversized
FROM messages_out
WHERE typeof(seq) = 'integer' AND seq > @afterSeq
ORDER BY seq LIMIT @limit`;

interface StoredRow extends Record<keyof MessageOutRow, unknown> {
  seq: number;
  oversized: string;
}

const text = z.string();
const storedColumns = z.object({
  seq: z
    .number()
    .int()
    .positive()
    .refine((n) => n % 2 === 1 && n <= 2 ** 52, 'must be a positive odd integer'),
  id: z.string().regex(OUTPUT_ID_PATTERN, 'must be 1-128 of A-Z a-z 0-9 _ -'),
  in_reply_to: text.nullable(),
  timestamp: text,
  deliver_after: z.iso.datetime({ offset: true }).nullable(),
  kind: z.enum(MESSAGE_OUT_KINDS),
  platform_id: text.nullable(),
  channel_type: text.nullable(),
  thread_id: text.nullable(),
  content: text,
});

/** Pure: a stored row as the host may use it, or with the reason it cannot be used. */
export function checkRow(stored: StoredRow): OutboundRow {
  const fallbackId =
    typeof stored.id === 'string' && OUTPUT_ID_PATTERN.test(stored.id) ? stored.id : `seq_${stored.seq}`;
  const failed = (error: string): OutboundRow => ({
    ...EMPTY_ROW,
    seq: stored.seq,
    id: fallbackId,
    kind: 'chat',
    content: '',
    error,
  });
  if (stored.oversized) return failed(`row ${stored.seq}: ${stored.oversized} over the size limit`);
  const columns = storedColumns.safeParse(stored);
  if (!columns.success)
    return failed(`row ${stored.seq}: ${z.prettifyError(columns.error).replace(/\n/g, '; ')}`);
  const row: MessageOutRow = { ...columns.data };
  if (jsonDepthExceeds(row.content, OUTPUT_LIMITS.maxJsonDepth)) {
    return { ...row, error: `content nests deeper than ${OUTPUT_LIMITS.maxJsonDepth} levels` };
  }
  const parsed = parseContent(outboundOperation, row.content);
  return parsed.ok ? { ...row, op: parsed.value } : { ...row, error: parsed.error };
}

const EMPTY_ROW = {
  in_reply_to: null,
  timestamp: '',
  deliver_after: null,
  platform_id: null,
  channel_type: null,
  thread_id: null,
};

/** Pure, linear: whether JSON text nests objects/arrays deeper than `max` (strings are skipped). */
export function jsonDepthExceeds(json: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < json.length; i++) {
    const c = json.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) return true;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return false;
}
