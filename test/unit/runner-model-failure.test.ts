import { describe, expect, test } from 'vitest';
import {
  capRetryWait,
  observe,
  type ObservedFailure,
} from '../../container/agent-runner/src/providers/forwarder.ts';
import { describeFailure } from '../../container/agent-runner/src/providers/model-failure.ts';

const refused = (
  gatewayReason: string,
  status: number,
  extra: Partial<ObservedFailure> = {},
): ObservedFailure => ({
  status,
  gatewayReason,
  message: 'the gateway says so',
  retryAfterS: null,
  ...extra,
});
/** The failure of a call the gateway refused with `status`, which the runner saw as its status too. */
const refusedCall = (
  gatewayReason: string,
  status: number,
  extra: Partial<ObservedFailure> = {},
  detail = 'x',
) => describeFailure({ status, hint: null, detail, observed: refused(gatewayReason, status, extra) });

describe('describeFailure', () => {
  test('a provider 429 tells the user to try again in a minute', () => {
    const failure = describeFailure({ status: 429, hint: null, detail: 'API Error: 429', observed: null });
    expect(failure.reason).toBe('rate_limited');
    expect(failure.notice).toBe(
      "I couldn't reach the model (429 rate limited). Please try again in a minute.",
    );
  });

  test('the gateway’s own reason wins over the status: a spent budget is not a rate limit', () => {
    const failure = refusedCall('budget_exhausted', 429, {}, 'API Error: 429');
    expect(failure.reason).toBe('budget_exhausted');
    expect(failure.notice).toMatch(/used up its model budget for today .*midnight UTC/);
    expect(failure.error).toBe('model call failed (budget_exhausted, HTTP 429): the gateway says so');
  });

  test('a user’s spent budget is told apart from the agent’s: others may still be answered', () => {
    const failure = refusedCall('user_budget', 429);
    expect(failure.reason).toBe('user_budget');
    expect(failure.notice).toMatch(
      /^I can't answer this right now: the person who asked has used up their model budget for today \(429 user budget exhausted\)\. It resets at midnight UTC/,
    );
  });

  test('a model the group may not use asks for an operator', () => {
    const failure = refusedCall('model_not_allowed', 403);
    expect(failure.notice).toMatch(/^I can't use my model: .*\(403 model not allowed\)\. An operator/);
  });

  test('a missing key on the host says the model access is not set up', () => {
    expect(refusedCall('no_api_key', 503).reason).toBe('not_configured');
  });

  test('a long Retry-After is given in minutes', () => {
    const failure = refusedCall('rate_limited', 429, { retryAfterS: 150 });
    expect(failure.notice).toMatch(/try again in about 3 minutes\.$/);
  });

  test.each([
    [504, null, 'timeout'],
    [null, 'timeout', 'timeout'],
    [500, null, 'upstream_error'],
    [502, null, 'upstream_error'],
    [401, null, 'auth_failed'],
    [400, null, 'invalid_request'],
    [null, 'malformed', 'malformed_response'],
    [null, 'connection', 'gateway_unreachable'],
    [null, null, 'unknown'],
  ] as const)('status %s with hint %s is %s', (status, hint, reason) => {
    const failure = describeFailure({ status, hint, detail: 'x', observed: null });
    expect(failure.reason).toBe(reason);
    expect(failure.notice.length).toBeLessThan(200);
  });

  test('without a status of its own, the status the forwarder saw is named', () => {
    const failure = describeFailure({
      status: null,
      hint: null,
      detail: 'x',
      observed: refused('upstream_timeout', 504),
    });
    expect(failure).toMatchObject({ reason: 'timeout', status: 504 });
    expect(failure.notice).toBe(
      'The model did not answer in time (504 timeout). Please try again in a minute.',
    );
  });
});

describe('the forwarder’s view of an answer', () => {
  test('a Retry-After longer than the turn may wait becomes "do not retry"', () => {
    expect(capRetryWait({ 'retry-after': '120' }, 20_000)).toMatchObject({ 'x-should-retry': 'false' });
    expect(capRetryWait({ 'retry-after-ms': '30000' }, 20_000)).toMatchObject({ 'x-should-retry': 'false' });
    expect(capRetryWait({ 'retry-after': '1' }, 20_000)).toEqual({ 'retry-after': '1' });
    expect(capRetryWait({}, 20_000)).toEqual({});
  });

  test('reads the gateway’s reason, the body’s message and the wait from a refusal', () => {
    const anthropicStyle = JSON.stringify({
      type: 'error',
      error: { type: 'rate_limit_error', message: 'slow' },
    });
    expect(observe(429, { 'x-warren-gateway': 'rate_limited', 'retry-after': '7' }, anthropicStyle)).toEqual({
      status: 429,
      gatewayReason: 'rate_limited',
      message: 'slow',
      retryAfterS: 7,
    });
    const openaiStyle = JSON.stringify({ error: { message: 'boom', type: 'server_error' } });
    expect(observe(500, {}, openaiStyle)).toMatchObject({ gatewayReason: null, message: 'boom' });
    expect(observe(502, {}, '<html>bad gateway</html>').message).toBeNull();
  });
});
