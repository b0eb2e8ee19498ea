// Pure: the gateway's own answers, in the provider's error format so the SDK inside the container
// surfaces the message to the agent (and the user) instead of a parse failure.
import type { Provider } from '../../db/enums.ts';

export type RefusalKind =
  | 'bad_request'
  | 'not_found'
  | 'too_large'
  | 'no_session'
  | 'no_provider'
  | 'model_not_allowed'
  | 'no_api_key'
  | 'rate_limited'
  | 'budget_exhausted'
  | 'user_budget'
  | 'upstream_unreachable'
  | 'upstream_timeout';

interface Shape {
  status: number;
  /** Anthropic's error.type. */
  claude: string;
  /** OpenAI's error.type and error.code. */
  openai: [type: string, code: string];
  /** SDKs retry 429 and 5xx; these would fail the same way again, so say so (x-should-retry). */
  final: boolean;
}

const SHAPES: Record<RefusalKind, Shape> = {
  bad_request: {
    status: 400,
    claude: 'invalid_request_error',
    openai: ['invalid_request_error', 'invalid_request'],
    final: true,
  },
  not_found: {
    status: 404,
    claude: 'not_found_error',
    openai: ['invalid_request_error', 'not_found'],
    final: true,
  },
  too_large: {
    status: 413,
    claude: 'request_too_large',
    openai: ['invalid_request_error', 'request_too_large'],
    final: true,
  },
  no_session: {
    status: 403,
    claude: 'permission_error',
    openai: ['invalid_request_error', 'no_session'],
    final: true,
  },
  no_provider: { status: 503, claude: 'api_error', openai: ['server_error', 'no_provider'], final: true },
  model_not_allowed: {
    status: 403,
    claude: 'permission_error',
    openai: ['invalid_request_error', 'model_not_allowed'],
    final: true,
  },
  no_api_key: { status: 503, claude: 'api_error', openai: ['server_error', 'no_api_key'], final: true },
  rate_limited: {
    status: 429,
    claude: 'rate_limit_error',
    openai: ['requests', 'rate_limit_exceeded'],
    final: false,
  },
  budget_exhausted: {
    status: 429,
    claude: 'rate_limit_error',
    openai: ['insufficient_quota', 'daily_token_budget_exceeded'],
    final: true,
  },
  user_budget: {
    status: 429,
    claude: 'rate_limit_error',
    openai: ['insufficient_quota', 'user_daily_token_budget_exceeded'],
    final: true,
  },
  upstream_unreachable: {
    status: 502,
    claude: 'api_error',
    openai: ['server_error', 'upstream_unreachable'],
    final: false,
  },
  upstream_timeout: {
    status: 504,
    claude: 'timeout_error',
    openai: ['server_error', 'upstream_timeout'],
    final: false,
  },
};

export interface Refusal {
  kind: RefusalKind;
  status: number;
  headers: Record<string, string>;
  body: string;
}

export function refusal(
  provider: Provider,
  kind: RefusalKind,
  message: string,
  options: { retryAfterSeconds?: number } = {},
): Refusal {
  const shape = SHAPES[kind];
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'x-warren-gateway': kind,
    'x-should-retry': String(!shape.final),
  };
  if (options.retryAfterSeconds !== undefined) headers['retry-after'] = String(options.retryAfterSeconds);
  return { kind, status: shape.status, headers, body: JSON.stringify(errorBody(provider, shape, message)) };
}

/** The same error as one server-sent event, for a stream that fails after its headers went out. */
export function streamedRefusal(provider: Provider, kind: RefusalKind, message: string): string {
  const body = JSON.stringify(errorBody(provider, SHAPES[kind], message));
  return provider === 'claude' ? `event: error\ndata: ${body}\n\n` : `data: ${body}\n\n`;
}

function errorBody(provider: Provider, shape: Shape, message: string): object {
  if (provider === 'claude') return { type: 'error', error: { type: shape.claude, message } };
  return { error: { message, type: shape.openai[0], code: shape.openai[1], param: null } };
}
