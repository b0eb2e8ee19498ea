// Whether one model call may leave the host, decided in order: the model is on the group's list, a
// key exists where one is needed, the group's token budget for the day is not spent, nor the budget
// of the user the call is for, the minute's calls are not used up (last, because it counts the call).
// A refusal says what, for which group or user, and what now.
import type { AgentGroup } from '../../db/agent-groups.ts';
import type { ModelProvider } from '../../db/enums.ts';
import { checkBudget, type RateLimiter } from './limits.ts';
import type { RefusalKind } from './refusals.ts';
import { isModelAllowed } from './request-body.ts';
import type { Secrets } from './secrets.ts';
import { upstreamOf, type Upstream } from './upstream.ts';

export interface AdmissionInput {
  group: AgentGroup & { provider: ModelProvider };
  /** The body's `model`; undefined for calls without one (GET /models). */
  model: string | undefined;
  secrets: Secrets;
  rate: RateLimiter;
  /** Tokens the group used this UTC day; only asked for when it has a budget. */
  tokensToday: () => number;
  /** The user whose message the call answers; null (a task, another agent, unknown) has no user limit. */
  user: BudgetedUser | null;
  /** Tokens the calls for that user used this UTC day, in every group; only asked for when they have a budget. */
  userTokensToday: () => number;
  now: Date;
}

export interface BudgetedUser {
  id: string;
  displayName: string | null;
  /** Tokens per UTC day; null is no limit. */
  dailyTokenBudget: number | null;
}

export type Admission =
  | { ok: true; upstream: Upstream; key: string | undefined }
  | { ok: false; kind: RefusalKind; message: string; retryAfterSeconds?: number };

export function admitCall(input: AdmissionInput): Admission {
  const { group, model, secrets } = input;
  const config = group.modelConfig;
  const name = `agent group ${group.folder}`;
  if (model !== undefined) {
    const allowed = config.allowedModels ?? (group.model ? [group.model] : []);
    if (!isModelAllowed(model, allowed)) {
      const list = allowed.length > 0 ? allowed.join(', ') : 'none: the group has no model configured';
      return {
        ok: false,
        kind: 'model_not_allowed',
        message:
          `model "${model}" is not allowed for ${name} (allowed: ${list}); ` +
          `an operator can change this with: warren groups model ${group.folder} --model … or --allow-models …`,
      };
    }
  }
  const upstream = upstreamOf(group.provider, config);
  const key = secrets.get(upstream.keyName);
  if (!key && upstream.official) {
    return {
      ok: false,
      kind: 'no_api_key',
      message:
        `no API key configured for ${name} (provider ${group.provider}): the operator sets ` +
        `${upstream.keyName} in the host's environment or in ${secrets.file}`,
    };
  }
  if (config.dailyTokenBudget !== undefined) {
    const used = input.tokensToday();
    const budget = checkBudget(used, config.dailyTokenBudget, input.now);
    if (!budget.ok) {
      return {
        ok: false,
        kind: 'budget_exhausted',
        message:
          `daily token budget of ${config.dailyTokenBudget} tokens for ${name} is used up ` +
          `(${used} used today); resets at ${budget.resetsAt}`,
      };
    }
  }
  const userRefusal = userBudgetRefusal(input);
  if (userRefusal) return userRefusal;
  if (config.requestsPerMinute !== undefined) {
    const rate = input.rate.take(group.id, config.requestsPerMinute);
    if (!rate.ok) {
      const seconds = Math.max(1, Math.ceil(rate.retryAfterMs / 1000));
      return {
        ok: false,
        kind: 'rate_limited',
        message: `${name} may make ${config.requestsPerMinute} model calls per minute; try again in ${seconds} s`,
        retryAfterSeconds: seconds,
      };
    }
  }
  return { ok: true, upstream, key };
}

/** The user's own budget, with the same UTC day as the group's; other users of the group are not affected. */
function userBudgetRefusal(input: AdmissionInput): Admission | undefined {
  const { user } = input;
  if (user?.dailyTokenBudget == null) return undefined;
  const used = input.userTokensToday();
  const budget = checkBudget(used, user.dailyTokenBudget, input.now);
  if (budget.ok) return undefined;
  const who = user.displayName ? `${user.displayName} (${user.id})` : user.id;
  return {
    ok: false,
    kind: 'user_budget',
    message:
      `daily token budget of ${user.dailyTokenBudget} tokens for user ${who}, whose message this call answers, ` +
      `is used up (${used} used today); resets at ${budget.resetsAt}; ` +
      `an operator can change it with: warren users budget ${user.id} N|none`,
  };
}
