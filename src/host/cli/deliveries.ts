// `warren deliveries list`: the latest attempts to send agents' replies and the host's notices to chats
// (delivery_attempts), newest first; `--failed` keeps the failures, with their error code and message.
import { listRecentAttempts, type DeliveryAttempt } from '../../db/deliveries.ts';
import type { Config } from '../config.ts';
import { withCentralDb } from './central-db.ts';
import { parseLimit } from './limit.ts';
import { renderTable } from './table.ts';

export const DELIVERIES_HELP = `warren deliveries list [--failed] [--limit N] [--json]
the latest delivery attempts, newest first (default 50, at most 1000): when, session, channel, the
outbound message, attempt number, status (delivered, failed, skipped, sending), error code and error. --failed: failures only.
`;

export interface DeliveriesIo {
  config: Config;
  args: string[];
  failed: boolean;
  limit?: string;
  json: boolean;
  write: (text: string) => void;
  fail: (text: string) => void;
}

export function runDeliveriesCommand(io: DeliveriesIo): Promise<number> {
  const [sub] = io.args;
  return withCentralDb({ name: 'deliveries', sub, usage: DELIVERIES_HELP }, io, (db) => {
    if (sub !== undefined && sub !== 'list') {
      io.fail(`warren deliveries: unknown subcommand "${sub}"\n\n${DELIVERIES_HELP}`);
      return 2;
    }
    const limit = parseLimit(io.limit, 50);
    if (typeof limit === 'string') {
      io.fail(`warren deliveries list: ${limit}\n`);
      return 2;
    }
    const rows = listRecentAttempts(db, { failedOnly: io.failed, limit });
    if (io.json) io.write(`${JSON.stringify(rows, null, 2)}\n`);
    else if (rows.length === 0)
      io.write(io.failed ? 'no failed deliveries\n' : 'nothing was delivered yet\n');
    else io.write(deliveryTable(rows));
    return 0;
  });
}

/** The attempts as a table; long errors are cut (`--json` has them whole). */
export function deliveryTable(rows: readonly DeliveryAttempt[]): string {
  return renderTable(
    ['TIME', 'SESSION', 'CHANNEL', 'MESSAGE', 'ATTEMPT', 'STATUS', 'CODE', 'ERROR'],
    rows.map((r) => [
      r.startedAt,
      r.sessionId ?? '(notice)',
      r.channelType,
      r.messageOutId,
      String(r.attempt),
      r.status,
      r.errorCode ?? '-',
      oneLine(r.error ?? ''),
    ]),
  );
}

function oneLine(text: string, max = 100): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}
