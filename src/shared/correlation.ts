// The correlation id that follows one inbound message through the logs of the host and of the
// runner, under the field `corr`. It is the id of the message's row in the session's messages_in
// (`in_…` for a chat message, `run_…` for a task run, …): already unique, already what `warren status`
// and the runner's acks name, known to every part that touches the message (router, runner, gateway
// via the runner's claims, delivery via `in_reply_to`), so it needs no new column and no new lookup.
// A message that reaches no session (dropped, held for approval) has no such id yet.
import { z } from 'zod';

/** The log field every line about one inbound message carries. */
export const CORRELATION_FIELD = 'corr';
/**
 * A turn that covers several messages logs the one it answers as `corr` and all of them here, so
 * each message can be followed into the turn that took it.
 */
export const BATCH_FIELD = 'batch';

/** What a correlation id may look like: every messages_in id the host makes, nothing a terminal acts on. */
export const CORRELATION_ID_PATTERN = /^[A-Za-z0-9_.:-]{1,128}$/;

/**
 * The id as the host may log it, from a field a container wrote (DESIGN §10): anything else (too
 * long, odd characters, not a string) is left out, never an error, since tracing must not fail a row.
 */
export const correlationId = z.string().regex(CORRELATION_ID_PATTERN).optional().catch(undefined);

export function asCorrelationId(value: unknown): string | undefined {
  return typeof value === 'string' && CORRELATION_ID_PATTERN.test(value) ? value : undefined;
}
