// The callback's answers → ChannelSendError codes (the closed taxonomy of src/db/enums.ts). Messages name
// the callback by origin only: a URL's path or query may hold the integrator's own token.
import { ChannelSendError } from '../../channel.ts';
import { codeForHttpStatus, retryAfterMs } from '../../http-answers.ts';

/** A callback that timed out reading the request (408) may take it next time. */
const CALLBACK_TRANSIENT = [408];

/** A non-2xx answer as a ChannelSendError (a 429 with its wait). */
export function statusError(
  status: number,
  retryAfter: string | null,
  where: string,
  now: Date,
): ChannelSendError {
  const code = codeForHttpStatus(status, CALLBACK_TRANSIENT);
  const message = `webhook callback ${where} answered HTTP ${status}`;
  if (code !== 'rate_limited') return new ChannelSendError(code, message);
  return new ChannelSendError(code, message, retryAfterMs(retryAfter, now));
}

/** A request that got no answer (refused, reset, timed out, stopped) as a transient failure. */
export function networkError(error: unknown, where: string, timeoutMs: number): ChannelSendError {
  const name = error instanceof Error ? error.name : '';
  const reason =
    name === 'TimeoutError'
      ? `no answer within ${timeoutMs} ms`
      : name === 'AbortError'
        ? 'the adapter stopped'
        : causeOf(error);
  return new ChannelSendError('transient', `webhook callback ${where}: ${reason}`);
}

function causeOf(error: unknown): string {
  if (!(error instanceof Error)) return String(error).slice(0, 200);
  const cause = error.cause as { code?: unknown; message?: unknown } | undefined;
  if (typeof cause?.code === 'string') return cause.code;
  return (typeof cause?.message === 'string' ? cause.message : error.message).slice(0, 200);
}
