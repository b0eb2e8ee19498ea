// Pure: a model call that failed for good (after the client's retries) → why, in one word for logs
// and acks, and one clear sentence for the user. The gateway's own refusals (x-warren-gateway, seen
// by the forwarder) are the most precise source; then the HTTP status; then what the client said.
import type { ObservedFailure } from './forwarder.ts';

export type FailureReason =
  | 'budget_exhausted'
  | 'user_budget'
  | 'rate_limited'
  | 'model_not_allowed'
  | 'not_configured'
  | 'auth_failed'
  | 'invalid_request'
  | 'timeout'
  | 'upstream_error'
  | 'gateway_unreachable'
  | 'malformed_response'
  | 'unknown';

/** What the provider knows about its failure. */
export interface FailureFacts {
  /** HTTP status the client reported, if any. */
  status: number | null;
  /** The client's own finding when there was no usable status. */
  hint: 'timeout' | 'malformed' | 'connection' | null;
  /** The client's error text (kept for the ack and the log, not shown as is). */
  detail: string;
  /** The last refusal the forwarder saw during this turn. */
  observed: ObservedFailure | null;
}

export interface ModelFailure {
  reason: FailureReason;
  status: number | null;
  /** For the ack's error column and the log. */
  error: string;
  /** The one message the user gets. */
  notice: string;
}

const GATEWAY_REASONS: Record<string, FailureReason> = {
  budget_exhausted: 'budget_exhausted',
  user_budget: 'user_budget',
  rate_limited: 'rate_limited',
  model_not_allowed: 'model_not_allowed',
  no_api_key: 'not_configured',
  no_provider: 'not_configured',
  no_session: 'not_configured',
  upstream_timeout: 'timeout',
  upstream_unreachable: 'upstream_error',
  gateway_unreachable: 'gateway_unreachable',
  bad_request: 'invalid_request',
  too_large: 'invalid_request',
};

export function describeFailure(facts: FailureFacts): ModelFailure {
  const status = facts.status ?? facts.observed?.status ?? null;
  const reason = reasonOf(facts, status);
  const said = facts.observed?.message ?? null;
  return {
    reason,
    status,
    error: `model call failed (${reason}${status === null ? '' : `, HTTP ${status}`}): ${said ?? facts.detail}`,
    notice: noticeFor(reason, status, facts.observed?.retryAfterS ?? null),
  };
}

function reasonOf(facts: FailureFacts, status: number | null): FailureReason {
  const fromGateway = facts.observed?.gatewayReason;
  if (fromGateway && GATEWAY_REASONS[fromGateway]) return GATEWAY_REASONS[fromGateway];
  if (facts.hint === 'malformed') return 'malformed_response';
  if (facts.hint === 'timeout' || status === 408 || status === 504) return 'timeout';
  if (status === 429) return 'rate_limited';
  if (status === 401) return 'auth_failed';
  if (status === 403) return 'model_not_allowed';
  if (status === 400 || status === 404 || status === 413 || status === 422) return 'invalid_request';
  if (status !== null && status >= 500) return 'upstream_error';
  if (facts.hint === 'connection') return 'gateway_unreachable';
  return 'unknown';
}

const AGAIN_SOON = 'Please try again in a minute.';

function noticeFor(reason: FailureReason, status: number | null, retryAfterS: number | null): string {
  const code = status === null ? '' : `${status} `;
  switch (reason) {
    case 'budget_exhausted':
      return `I can't answer right now: this agent has used up its model budget for today (${code}budget exhausted). It resets at midnight UTC, or an operator can raise it.`;
    case 'user_budget':
      return `I can't answer this right now: the person who asked has used up their model budget for today (${code}user budget exhausted). It resets at midnight UTC, or an operator can raise it.`;
    case 'rate_limited':
      return `I couldn't reach the model (${code}rate limited). ${waitHint(retryAfterS)}`;
    case 'model_not_allowed':
      return `I can't use my model: the request was refused (${code}model not allowed). An operator needs to check this agent's model settings.`;
    case 'not_configured':
      return `I can't reach a model: this agent's model access is not set up on the host (${code}not configured). An operator needs to set it up.`;
    case 'auth_failed':
      return `I can't reach the model: the provider refused the host's credentials (${code}authentication failed). An operator needs to check the API key.`;
    case 'invalid_request':
      return `The model refused the request (${code}invalid request). Please try again, perhaps with a shorter message.`;
    case 'timeout':
      return `The model did not answer in time (${code}timeout). ${AGAIN_SOON}`;
    case 'upstream_error':
      return `I couldn't reach the model (${code}error from the provider). ${AGAIN_SOON}`;
    case 'gateway_unreachable':
      return `I couldn't reach the model: the host's model gateway did not answer. ${AGAIN_SOON}`;
    case 'malformed_response':
      return `The model's answer came back broken (malformed response). ${AGAIN_SOON}`;
    case 'unknown':
      return `Something went wrong while asking the model. ${AGAIN_SOON}`;
  }
}

/** The turn hit its step limit (WARREN_MAX_STEPS) without a final answer. */
export function stoppedNotice(maxSteps: number): string {
  return `I stopped after ${maxSteps} steps without finishing. Please try again, perhaps asking for less at once.`;
}

function waitHint(retryAfterS: number | null): string {
  if (retryAfterS === null || retryAfterS <= 60) return AGAIN_SOON;
  const minutes = Math.ceil(retryAfterS / 60);
  return `Please try again in about ${minutes} minutes.`;
}
