// One model call through a session's socket: whether the session may call at all, reading and
// admitting the call, passing it upstream, and recording the tokens the provider reports.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { getAgentGroup, type AgentGroup } from '../../db/agent-groups.ts';
import type { Db } from '../../db/connection.ts';
import type { ModelProvider } from '../../db/enums.ts';
import {
  recordModelUsage,
  tokensUsedByGroup,
  tokensUsedByUser,
  type TokenCounts,
} from '../../db/model-usage.ts';
import { getSession } from '../../db/sessions.ts';
import { getUserDailyTokenBudget } from '../../db/user-budgets.ts';
import { getUser } from '../../db/users.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics/index.ts';
import { sessionPaths } from '../sessions/index.ts';
import { admitCall, type BudgetedUser } from './admission.ts';
import { currentWorkOf, type CurrentWork } from './attribution.ts';
import { forwardCall, send } from './forward.ts';
import { readIncomingCall, type IncomingCall } from './incoming.ts';
import { utcDay, type RateLimiter } from './limits.ts';
import { refusal, type RefusalKind } from './refusals.ts';
import { bodyForUpstream } from './request-body.ts';
import type { Secrets } from './secrets.ts';
import { upstreamHeaders, type Upstream } from './upstream.ts';
import { createUsageTap } from './usage.ts';

export const DEFAULT_TIMEOUT_MS = 120_000;

/** What one call through the gateway came to. */
export interface GatewayCall {
  sessionId: string;
  agentGroupId: string;
  path: string;
  model: string | undefined;
  /** The gateway's own answer (a refusal), or undefined when the call went upstream. */
  refused?: string;
  upstreamStatus?: number;
  failure?: string;
  usage?: TokenCounts;
  durationMs: number;
}

/** What every call of one gateway shares. */
export interface CallContext {
  db: Db;
  dataDir: string;
  secrets: Secrets;
  clock: () => Date;
  log: Logger;
  fetch: typeof fetch;
  rate: RateLimiter;
  onCall?: (call: GatewayCall) => void;
  metrics?: Pick<Metrics, 'modelCall'>;
}

type CallOutcome = Omit<GatewayCall, 'sessionId' | 'agentGroupId' | 'path' | 'durationMs'>;

/** A call that was read and admitted, on its way upstream. */
interface AdmittedCall {
  sessionId: string;
  group: AgentGroup;
  provider: ModelProvider;
  /** The path as the container sent it. */
  path: string;
  incoming: Extract<IncomingCall, { ok: true }>;
  upstream: Upstream;
  key: string | undefined;
  started: number;
  /** The user and the message the call serves. */
  work: CurrentWork;
}

export async function handleCall(
  ctx: CallContext,
  sessionId: string,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const { db, log, clock } = ctx;
  const started = clock().getTime();
  const session = getSession(db, sessionId);
  const group = session && getAgentGroup(db, session.agentGroupId);
  const path = req.url ?? '/';
  const report = (call: CallOutcome) => {
    const agentGroupId = group?.id ?? '';
    ctx.metrics?.modelCall({ agentGroupId, ...call });
    ctx.onCall?.({ sessionId, agentGroupId, path, durationMs: clock().getTime() - started, ...call });
  };
  if (!session || !group || session.status !== 'active') {
    req.resume();
    send(res, refusal('openai', 'no_session', `session ${sessionId} is not active; it makes no model calls`));
    return report({ model: undefined, refused: 'no_session' });
  }
  const provider = group.provider;
  if (provider === 'scripted') {
    req.resume();
    send(
      res,
      refusal(
        provider,
        'no_provider',
        `agent group ${group.folder} uses the scripted provider and has no model; ` +
          `configure one: warren groups model ${group.folder} --provider claude|openai --model …`,
      ),
    );
    return report({ model: undefined, refused: 'no_provider' });
  }
  // Read once per call, for the refusal's line or the call's: a refused call is traced too.
  let work: CurrentWork | undefined;
  const workOf = () => (work ??= attributeCall(ctx, sessionId, group.id));
  const refuse = (
    kind: RefusalKind,
    message: string,
    extra: { retryAfterSeconds?: number } = {},
    model?: string,
  ) => {
    send(res, refusal(provider, kind, message, extra));
    const { corr, batch } = workOf();
    log.info(
      { sessionId, corr, batch, group: group.folder, path, kind, model },
      'gateway refused a model call',
    );
    report({ model, refused: kind });
  };
  const incoming = await readIncomingCall(provider, req, path);
  if (!incoming.ok) return refuse(incoming.kind, incoming.message);
  const { model } = incoming;
  const { userId } = workOf();
  const day = utcDay(clock());
  const admission = admitCall({
    group: { ...group, provider },
    model,
    secrets: ctx.secrets,
    rate: ctx.rate,
    tokensToday: () => tokensUsedByGroup(db, group.id, day.start, day.end),
    user: userId === null ? null : budgetedUser(db, userId),
    userTokensToday: () => (userId === null ? 0 : tokensUsedByUser(db, userId, day.start, day.end)),
    now: clock(),
  });
  if (!admission.ok) {
    const { kind, message, retryAfterSeconds } = admission;
    return refuse(kind, message, { retryAfterSeconds }, model);
  }
  const { upstream, key } = admission;
  const call = { sessionId, group, provider, path, incoming, upstream, key, started, work: workOf() };
  report({ model, ...(await forwardAndRecord(ctx, call, req, res)) });
}

/** Passes an admitted call upstream, then records the tokens it used and logs the call. */
async function forwardAndRecord(
  ctx: CallContext,
  call: AdmittedCall,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<Omit<CallOutcome, 'model'>> {
  const { sessionId, group, provider, path, incoming, key } = call;
  const { corr, batch } = call.work;
  const tap = { current: undefined as ReturnType<typeof createUsageTap> | undefined };
  const result = await forwardCall(
    {
      url: `${call.upstream.baseUrl}${incoming.path}`,
      method: req.method ?? 'GET',
      headers: upstreamHeaders(provider, req.headers, key),
      body:
        incoming.raw.length > 0 ? bodyForUpstream(provider, path, incoming.raw, incoming.json) : undefined,
      timeoutMs: group.modelConfig.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    },
    res,
    {
      provider,
      group: group.folder,
      key,
      fetch: ctx.fetch,
      onChunk(chunk, contentType) {
        tap.current ??= createUsageTap(provider, contentType);
        tap.current.push(chunk);
      },
    },
  );
  const usage = tap.current?.result();
  const durationMs = ctx.clock().getTime() - call.started;
  if (result.upstreamStatus !== undefined) {
    recordCall(ctx, call, usage, result.upstreamStatus, durationMs);
  }
  const line = { sessionId, corr, batch, group: group.folder, path, model: incoming.model };
  if (result.failure) {
    ctx.log.warn(
      { ...line, status: result.upstreamStatus, failure: result.failure },
      'gateway: a model call did not complete',
    );
  } else {
    const tokens = usage && { input: usage.inputTokens, output: usage.outputTokens };
    ctx.log.info({ ...line, status: result.upstreamStatus, ms: durationMs, tokens }, 'gateway: model call');
  }
  return { upstreamStatus: result.upstreamStatus, failure: result.failure, usage };
}

/** The user and the message the session is serving now; nobody and none when its files cannot tell. */
function attributeCall(ctx: CallContext, sessionId: string, agentGroupId: string): CurrentWork {
  try {
    return currentWorkOf(ctx.db, sessionPaths(ctx.dataDir, agentGroupId, sessionId));
  } catch (err) {
    ctx.log.debug({ sessionId, err }, 'gateway: no user for this call (session files not readable)');
    return { userId: null };
  }
}

function budgetedUser(db: Db, userId: string): BudgetedUser {
  return {
    id: userId,
    displayName: getUser(db, userId)?.displayName ?? null,
    dailyTokenBudget: getUserDailyTokenBudget(db, userId),
  };
}

function recordCall(
  ctx: CallContext,
  call: AdmittedCall,
  usage: TokenCounts | undefined,
  statusCode: number,
  durationMs: number,
): void {
  const { sessionId, group } = call;
  const { userId } = call.work;
  try {
    recordModelUsage(ctx.db, {
      agentGroupId: group.id,
      sessionId,
      userId,
      provider: call.provider,
      model: call.incoming.model,
      path: call.path.slice(0, 2000),
      inputTokens: usage?.inputTokens ?? 0,
      outputTokens: usage?.outputTokens ?? 0,
      cacheReadTokens: usage?.cacheReadTokens ?? 0,
      cacheWriteTokens: usage?.cacheWriteTokens ?? 0,
      statusCode,
      durationMs,
      createdAt: ctx.clock().toISOString(),
    });
  } catch (err) {
    ctx.log.error({ sessionId, group: group.folder, err }, 'gateway: could not record model usage');
  }
}
