// One delivery pass over a session's messages_out (DESIGN §4 step 5): every row after the settled
// mark, in order, each settled on its own: sent through its channel, handed to its handler, or failed
// with the reason. A row waiting for a retry ends the pass: nothing after it may overtake it.
import { scheduleWake, type Session } from '../../db/sessions.ts';
import type { DeliveryErrorCode } from '../../db/enums.ts';
import { errorText } from '../../shared/error-text.ts';
import { isDestinationAllowed } from '../access/index.ts';
import {
  platformIdsOfInbound,
  readOutboundPage,
  readRouting,
  recordDelivered,
  SessionFileError,
  type OutboundRow,
  type SessionPaths,
  type SessionRouting,
} from '../sessions/index.ts';
import { channelOf, recordAttempt, sendThrough, type SendOutcome } from './attempt.ts';
import { corrOf } from './corr.ts';
import { isRetryable, retryDelayMs } from './backoff.ts';
import { toChannelMessage } from './degrade.ts';
import type { DeliveryDeps } from './deps.ts';
import { failRow } from './failure.ts';
import { removeDeliveredFiles, withStagedFiles, type StagedFile } from './outbox.ts';

export interface PassContext {
  deps: DeliveryDeps;
  maxAttempts: number;
  session: Session;
  paths: SessionPaths;
  /** Every row up to this seq is settled: a pass reads only what comes after it, and moves it on. */
  progress: { settledThrough: number };
  /** A send failed for a passing reason: the session's next pass runs after this delay. */
  retryAfter(delayMs: number): void;
}

export async function deliverPass(ctx: PassContext): Promise<void> {
  const { deps, session, paths, progress } = ctx;
  const now = deps.clock().toISOString();
  let settled = true; // every row so far is done with: the mark may move past it
  let page = { rows: [] as OutboundRow[], lastSeq: progress.settledThrough, more: true };
  while (page.more) {
    page = readOutboundPage(paths, page.lastSeq);
    const replyTargets = platformIdsOfInbound(paths, [
      ...new Set(page.rows.flatMap((r) => (r.in_reply_to ? [r.in_reply_to] : []))),
    ]);
    for (const row of page.rows) {
      if (row.deliver_after && row.deliver_after > now) {
        scheduleWake(deps.db, session.id, row.deliver_after);
        settled = false;
        continue;
      }
      if (!(await settleRow(ctx, row, replyTargets))) return; // a retry is scheduled
      if (settled) progress.settledThrough = row.seq;
    }
    if (settled) progress.settledThrough = Math.max(progress.settledThrough, page.lastSeq);
  }
}

/**
 * One row, isolated: whatever it makes throw (a handler, a channel, a file) fails this row alone, with
 * the reason, and later rows go on. Only a problem with the session's files stops the pass.
 * False when the row waits for a retry (and nothing after it may overtake it).
 */
async function settleRow(
  ctx: PassContext,
  row: OutboundRow,
  replyTargets: Map<string, string>,
): Promise<boolean> {
  const { deps, session, paths } = ctx;
  try {
    if (row.op?.op === 'action' && deps.actions?.handles(row.op.action)) {
      const { action, payload } = row.op;
      await deps.actions.apply(session.id, { id: row.id, timestamp: row.timestamp, action, payload });
    } else if (row.op?.op === 'ask' && deps.questions) {
      await deps.questions.ask(session.id, row);
    } else if (row.kind === 'agent' && deps.agentMessages) {
      deps.agentMessages.deliver(session, paths, row);
    } else {
      return await deliverRow(ctx, row, replyTargets);
    }
    return true;
  } catch (err) {
    if (err instanceof SessionFileError) throw err;
    const error = `the host could not handle this message: ${errorText(err)}`;
    deps.log.error(
      { sessionId: session.id, corr: corrOf(row), messageOutId: row.id, seq: row.seq, err },
      'outbound row failed',
    );
    failRow(deps, { session, paths, row, code: 'unknown', error });
    return true;
  }
}

/** One row through its channel; false when it must be retried later. */
async function deliverRow(
  ctx: PassContext,
  row: OutboundRow,
  replyTargets: Map<string, string>,
): Promise<boolean> {
  const { deps, session, paths } = ctx;
  const address = addressOf(paths, row);
  const { attempt, outcome } = await recordAttempt(
    deps,
    {
      sessionId: session.id,
      messageOutId: row.id,
      idempotencyKey: `${session.id}:${row.id}`,
      channelType: address.channelType ?? 'unknown',
      chatId: address.platformId ?? null,
      threadId: address.threadId ?? null,
    },
    (started) =>
      withStagedFiles(paths, row, (files) =>
        sendRow(ctx, row, address, { replyTargets, idempotencyKey: started.idempotencyKey, files }),
      ),
  );
  if (outcome.ok) {
    const deliveredAt = deps.clock();
    recordDelivered(paths, {
      messageOutId: row.id,
      platformMessageId: outcome.platformMessageId,
      status: 'delivered',
      deliveredAt: deliveredAt.toISOString(),
    });
    const ms = deliveredAt.getTime() - dueSince(row, deliveredAt.getTime());
    deps.metrics?.delivered(ms);
    deps.log.info(
      { sessionId: session.id, corr: corrOf(row), messageOutId: row.id, channel: address.channelType, ms },
      'delivered',
    );
    await removeDeliveredFiles(paths, row);
    deps.onDelivered?.({ sessionId: session.id, messageOutId: row.id, inReplyTo: row.in_reply_to });
    return true;
  }
  if (isRetryable(outcome.code) && attempt.attempt < ctx.maxAttempts) {
    const delay = retryDelayMs(attempt.attempt, outcome.retryAfterMs);
    const logged = {
      sessionId: session.id,
      corr: corrOf(row),
      messageOutId: row.id,
      code: outcome.code,
      delay,
    };
    deps.log.warn(logged, 'delivery will be retried');
    ctx.retryAfter(delay);
    return false;
  }
  failRow(deps, { session, paths, row, code: outcome.code, error: outcome.error });
  return true;
}

interface RowSend {
  replyTargets: Map<string, string>;
  idempotencyKey: string;
  files: StagedFile[];
}

/** The checks a row must pass before its channel is called, then the call. */
async function sendRow(
  ctx: PassContext,
  row: OutboundRow,
  address: SessionRouting,
  send: RowSend,
): Promise<SendOutcome> {
  const { deps, session, paths } = ctx;
  if (!row.op) return refused('invalid_request', row.error);
  // Its platform_id names an agent group, not a chat: never fall back to the session's own chat.
  if (row.kind === 'agent') return refused('unsupported', 'no agent-to-agent delivery here');
  const { channelType, platformId, threadId } = address;
  if (!channelType || !platformId) {
    return refused('invalid_request', 'the message has no address and the session no default one');
  }
  if (!isDestinationAllowed(deps.db, session, { channelType, platformId })) {
    return refused(
      'destination_denied',
      `${channelType}:${platformId} is not this conversation nor one of the agent's destinations`,
    );
  }
  const channel = channelOf(deps.channels, channelType);
  if ('ok' in channel) return channel;
  const inReplyTo = row.in_reply_to ? (send.replyTargets.get(row.in_reply_to) ?? null) : null;
  const message = toChannelMessage(
    paths,
    row.op,
    { idempotencyKey: send.idempotencyKey, chatId: platformId, threadId, inReplyTo },
    channel.capabilities,
    send.files,
  );
  if ('unsupported' in message) return refused('unsupported', message.unsupported);
  return sendThrough(channel, message);
}

/**
 * Since when the row could be delivered: written by the runner (its clock is the host's: same
 * kernel), or its deliver_after if later; a timestamp that does not parse counts as due `now`.
 */
function dueSince(row: OutboundRow, now: number): number {
  const written = Date.parse(row.timestamp);
  const after = row.deliver_after ? Date.parse(row.deliver_after) : NaN;
  const since = Math.max(
    Number.isNaN(written) ? -Infinity : written,
    Number.isNaN(after) ? -Infinity : after,
  );
  return Number.isFinite(since) ? since : now;
}

function refused(code: DeliveryErrorCode, error: string): SendOutcome {
  return { ok: false, code, error };
}

/** The row's own address, else the session's default reply address. */
function addressOf(paths: SessionPaths, row: OutboundRow): SessionRouting {
  if (row.channel_type && row.platform_id) {
    return { channelType: row.channel_type, platformId: row.platform_id, threadId: row.thread_id };
  }
  return readRouting(paths);
}
