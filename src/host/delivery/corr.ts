// Which inbound message an outbound row belongs to, for delivery's log lines (src/shared/correlation.ts).
// Both fields are the container's (DESIGN §10): a value that is not an id is left out.
import { asCorrelationId } from '../../shared/correlation.ts';
import type { OutboundRow } from '../sessions/index.ts';

/** The message the row answers (`in_reply_to`), else the one whose turn wrote it (`corr` in its content). */
export function corrOf(row: Pick<OutboundRow, 'in_reply_to' | 'op'>): string | undefined {
  return asCorrelationId(row.in_reply_to) ?? row.op?.corr;
}
