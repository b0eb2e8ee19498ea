// Outbound rows -> channel adapters -> delivered records (DESIGN §4 step 5).
// Wakes on file changes in a running session's out/ folder, with a fallback poll; retries transient
// failures with backoff; on a final failure tells the agent with a system message.
import { watch, type FSWatcher } from 'node:fs';
import type { Db } from '../db/connection.ts';
import { finishAttempt, startAttempt } from '../db/deliveries.ts';
import type { DeliveryErrorCode } from '../db/enums.ts';
import { getSession, scheduleWake, type Session } from '../db/sessions.ts';
import { isDestinationAllowed } from './access/index.ts';
import {
  hasCapability,
  ChannelSendError,
  type Channel,
  type OutboundMessage as ChannelMessage,
} from './channels/channel.ts';
import type { ChannelRegistry } from './channels/registry.ts';
import type { Logger } from './logger.ts';
import {
  insertMessagesIn,
  readOutboundPage,
  recordDelivered,
  removeOutboxFolder,
  sessionPaths,
  SessionBusyError,
  SessionFileError,
  SessionUnsafeError,
  stageOutboxFiles,
  withSessionFile,
  type OutboundMessage,
  type SessionPaths,
} from './sessions/index.ts';
import { platformIdOfSeq, platformIdsOfInbound } from './sessions/lookup.ts';
import { errorText } from '../shared/error-text.ts';

export interface DeliveryDeps {
  db: Db;
  dataDir: string;
  channels: ChannelRegistry;
  clock: () => Date;
  log: Logger;
  /** Start a turn in the session (the agent must hear about a failed delivery). */
  wake: (sessionId: string) => void;
  /** false: no file-change events, only the poll (the benchmark's baseline). */
  watchFiles?: boolean;
  pollMs?: number;
  maxAttempts?: number;
  onDelivered?: (event: { sessionId: string; messageOutId: string; inReplyTo: string | null }) => void;
  onFailed?: (event: { sessionId: string; messageOutId: string; code: DeliveryErrorCode }) => void;
  /** The session's out/ cannot be trusted (DESIGN §10): take it out of service (sessions/quarantine.ts). */
  onUnsafe?: (sessionId: string, err: SessionUnsafeError) => void;
  /**
   * Host-side operations agents ask for (`op: 'action'` rows) that are not sent anywhere, e.g. the
   * scheduler's task actions. The handler applies or refuses the row and records it in `delivered`
   * itself, in one transaction; a refusal reaches the agent as a system message.
   */
  actions?: ActionHandler;
  /**
   * ask_user_question (`op: 'ask'` rows): the handler shows the question and records the row in
   * `delivered` itself (approvals/questions.ts).
   */
  questions?: { ask(sessionId: string, row: OutboundMessage): Promise<unknown> };
  /**
   * Rows of kind 'agent' (to another agent group, src/host/access/agent-messages.ts): delivered into
   * a session of that group or refused by its caps; either way settled by the handler.
   */
  agentMessages?: {
    deliver(session: Session, paths: SessionPaths, row: OutboundMessage): unknown;
  };
}

export interface ActionHandler {
  handles(action: string): boolean;
  /** May be async: delivery waits for it before the next row. */
  apply(sessionId: string, row: ActionRequest): unknown;
}

/** One hook from several (the scheduler's task actions, the approvals engine's requests). */
export function combineActions(...handlers: ActionHandler[]): ActionHandler {
  return {
    handles: (action) => handlers.some((h) => h.handles(action)),
    apply: (sessionId, row) => handlers.find((h) => h.handles(row.action))?.apply(sessionId, row),
  };
}

export interface ActionRequest {
  id: string;
  timestamp: string;
  action: string;
  payload: Record<string, unknown>;
}

interface SessionState {
  pass?: Promise<void>;
  again: boolean;
  watcher?: FSWatcher;
  retryTimer?: NodeJS.Timeout;
  /** Every row up to this seq is settled: later passes read only what comes after it. */
  settledThrough: number;
  /** When outbound.db was first found locked, in a row of locked reads. */
  busySince?: number;
  busyRetries?: number;
}

const BUSY_RETRY_MS = 50;
const BUSY_RETRY_MAX_MS = 2000;
const BUSY_LIMIT_MS = 30_000;

const RETRYABLE: ReadonlySet<DeliveryErrorCode> = new Set(['rate_limited', 'transient']);

/** Pure: how long to wait before attempt `attempt + 1` (exponential, capped, honouring Retry-After). */
export function retryDelayMs(attempt: number, retryAfterMs?: number): number {
  const exponential = Math.min(30_000, 500 * 2 ** (attempt - 1));
  return Math.max(exponential, retryAfterMs ?? 0);
}

export function createDelivery(deps: DeliveryDeps) {
  const { db, log, clock } = deps;
  const maxAttempts = deps.maxAttempts ?? 5;
  const states = new Map<string, SessionState>();
  const watched = new Set<string>();
  const poll = setInterval(() => watched.forEach((id) => void deliverSession(id)), deps.pollMs ?? 1000);
  poll.unref();

  return { deliverSession, watchSession, unwatchSession, notifyUser, stop };

  /**
   * Delivers everything due in the session; concurrent calls coalesce into one more pass. While a
   * retry waits for its backoff, only the retry timer may deliver (file events must not hurry it).
   */
  function deliverSession(sessionId: string, retryDue = false): Promise<void> {
    const state = stateOf(sessionId);
    if (state.retryTimer && !retryDue) return state.pass ?? Promise.resolve();
    if (state.pass) {
      state.again = true;
      return state.pass;
    }
    state.pass = (async () => {
      do {
        state.again = false;
        await deliverPass(sessionId).then(
          () => {
            state.busySince = undefined;
            state.busyRetries = 0;
          },
          (err: unknown) => passFailed(sessionId, state, err),
        );
      } while (state.again);
    })().finally(() => (state.pass = undefined));
    return state.pass;
  }

  /**
   * A locked outbound.db is read again after a back-off (delivery waits only briefly on the runner's
   * lock); one locked for longer than BUSY_LIMIT_MS, or any unsafe file, takes the session out of service.
   */
  function passFailed(sessionId: string, state: SessionState, err: unknown): void {
    if (err instanceof SessionBusyError) {
      state.busySince ??= performance.now();
      if (performance.now() - state.busySince < BUSY_LIMIT_MS) {
        state.busyRetries = (state.busyRetries ?? 0) + 1;
        state.retryTimer ??= setTimeout(
          () => {
            state.retryTimer = undefined;
            void deliverSession(sessionId, true);
          },
          Math.min(BUSY_RETRY_MAX_MS, BUSY_RETRY_MS * 2 ** (state.busyRetries - 1)),
        );
        return;
      }
      err = new SessionUnsafeError(
        sessionId,
        `out/outbound.db stayed locked for over ${BUSY_LIMIT_MS / 1000} s`,
      );
    }
    if (err instanceof SessionUnsafeError && deps.onUnsafe) return deps.onUnsafe(sessionId, err);
    log.error({ sessionId, err }, 'delivery pass failed');
  }

  /** While a container runs: react to its writes at once instead of at the next poll. */
  function watchSession(sessionId: string): void {
    const session = getSession(db, sessionId);
    if (!session || watched.has(sessionId)) return;
    watched.add(sessionId);
    if (deps.watchFiles === false) return;
    const state = stateOf(sessionId);
    try {
      // The heartbeat file changes every few seconds while a turn runs; only other changes matter.
      // A commit rewrites outbound.db; the heartbeat, the journal and outbox files come and go
      // around it and would only cause empty passes (the fallback poll covers a missed event).
      state.watcher = watch(pathsOf(session).outDir, (_event, file) => {
        if (file === 'outbound.db') void deliverSession(sessionId);
      });
      state.watcher.on('error', () => state.watcher?.close());
    } catch (err) {
      log.warn({ sessionId, err }, 'cannot watch out/; falling back to polling');
    }
  }

  function unwatchSession(sessionId: string): void {
    watched.delete(sessionId);
    const state = states.get(sessionId);
    state?.watcher?.close();
    if (state && !state.retryTimer && !state.pass) states.delete(sessionId);
    else if (state) state.watcher = undefined;
  }

  async function stop(): Promise<void> {
    clearInterval(poll);
    for (const [id, state] of states) {
      state.watcher?.close();
      clearTimeout(state.retryTimer);
      await state.pass;
      states.delete(id);
    }
    watched.clear();
  }

  /**
   * A message from the host itself to the session's chat (e.g. "your message failed"), sent straight
   * through the channel: the host never writes outbound.db. `key` makes repeats idempotent.
   */
  async function notifyUser(
    sessionId: string,
    key: string,
    text: string,
    inReplyTo: string | null,
  ): Promise<boolean> {
    const session = getSession(db, sessionId);
    if (!session) return false;
    const address = addressOf(pathsOf(session), { channel_type: null, platform_id: null, thread_id: null });
    if (!address.channelType || !address.platformId) return false;
    const messageOutId = `notice:${key}`;
    const idempotencyKey = `${sessionId}:${messageOutId}`;
    const attempt = startAttempt(
      db,
      { sessionId, messageOutId, idempotencyKey, channelType: address.channelType },
      clock().toISOString(),
    );
    try {
      const result = await deps.channels.get(address.channelType).send({
        kind: 'send',
        idempotencyKey,
        chatId: address.platformId,
        threadId: address.threadId,
        text,
        inReplyTo,
        files: [],
      });
      finishAttempt(
        db,
        attempt.id,
        { status: 'delivered', platformMessageId: result.platformMessageId },
        clock().toISOString(),
      );
      return true;
    } catch (err) {
      const code = err instanceof ChannelSendError ? err.code : 'unknown';
      finishAttempt(
        db,
        attempt.id,
        { status: 'failed', errorCode: code, error: String(err) },
        clock().toISOString(),
      );
      log.warn({ sessionId, err }, 'could not tell the user');
      return false;
    }
  }

  function stateOf(sessionId: string): SessionState {
    let state = states.get(sessionId);
    if (!state) states.set(sessionId, (state = { again: false, settledThrough: 0 }));
    return state;
  }

  function pathsOf(session: Session): SessionPaths {
    return sessionPaths(deps.dataDir, session.agentGroupId, session.id);
  }

  async function deliverPass(sessionId: string): Promise<void> {
    const session = getSession(db, sessionId);
    if (!session || session.closedReason) return;
    const paths = pathsOf(session);
    const state = stateOf(sessionId);
    const now = clock().toISOString();
    let settled = true; // every row so far is done with: the mark may move past it
    let page = { rows: [] as OutboundMessage[], lastSeq: state.settledThrough, more: true };
    while (page.more) {
      page = readOutboundPage(paths, page.lastSeq);
      const replyTargets = platformIdsOfInbound(paths, [
        ...new Set(page.rows.flatMap((r) => (r.in_reply_to ? [r.in_reply_to] : []))),
      ]);
      for (const row of page.rows) {
        if (row.deliver_after && row.deliver_after > now) {
          scheduleWake(db, sessionId, row.deliver_after);
          settled = false;
          continue;
        }
        if (!(await settleRow(session, paths, row, replyTargets))) return; // a retry is scheduled
        if (settled) state.settledThrough = row.seq;
      }
      if (settled) state.settledThrough = Math.max(state.settledThrough, page.lastSeq);
    }
  }

  /**
   * One row, isolated: whatever it makes throw (a handler, a channel, a file) fails this row alone, with
   * the reason, and later rows go on. Only a problem with the session's files stops the pass.
   * False when the row waits for a retry (and nothing after it may overtake it).
   */
  async function settleRow(
    session: Session,
    paths: SessionPaths,
    row: OutboundMessage,
    replyTargets: Map<string, string>,
  ): Promise<boolean> {
    try {
      if (row.op?.op === 'action' && deps.actions?.handles(row.op.action)) {
        const { action, payload } = row.op;
        await deps.actions.apply(session.id, { id: row.id, timestamp: row.timestamp, action, payload });
      } else if (row.op?.op === 'ask' && deps.questions) {
        await deps.questions.ask(session.id, row);
      } else if (row.kind === 'agent' && deps.agentMessages) {
        deps.agentMessages.deliver(session, paths, row);
      } else {
        return await deliverRow(session, paths, row, replyTargets);
      }
      return true;
    } catch (err) {
      if (err instanceof SessionFileError) throw err;
      const error = `the host could not handle this message: ${errorText(err)}`;
      log.error({ sessionId: session.id, messageOutId: row.id, seq: row.seq, err }, 'outbound row failed');
      failRow(session, paths, row, 'unknown', error);
      return true;
    }
  }

  /** One row; false when it must be retried later (and nothing after it may overtake it). */
  async function deliverRow(
    session: Session,
    paths: SessionPaths,
    row: OutboundMessage,
    replyTargets: Map<string, string>,
  ): Promise<boolean> {
    const address = addressOf(paths, row);
    const channelType = address.channelType ?? 'unknown';
    const attempt = startAttempt(
      db,
      { sessionId: session.id, messageOutId: row.id, idempotencyKey: `${session.id}:${row.id}`, channelType },
      clock().toISOString(),
    );
    const staged = row.op?.op === 'send' ? await stageOutboxFiles(paths, row.id, row.op.files) : undefined;
    const outcome: SendOutcome =
      staged && !staged.ok
        ? { ok: false, code: staged.code, error: staged.error }
        : await attemptSend(
            session,
            paths,
            row,
            address,
            replyTargets,
            attempt.idempotencyKey,
            staged?.files ?? [],
          );
    if (staged?.ok) await staged.release();
    const now = clock().toISOString();
    if (outcome.ok) {
      finishAttempt(
        db,
        attempt.id,
        { status: 'delivered', platformMessageId: outcome.platformMessageId },
        now,
      );
      recordDelivered(paths, {
        messageOutId: row.id,
        platformMessageId: outcome.platformMessageId,
        status: 'delivered',
        deliveredAt: now,
      });
      await removeOutboxFolder(paths, row.id);
      deps.onDelivered?.({ sessionId: session.id, messageOutId: row.id, inReplyTo: row.in_reply_to });
      return true;
    }
    finishAttempt(db, attempt.id, { status: 'failed', errorCode: outcome.code, error: outcome.error }, now);
    if (RETRYABLE.has(outcome.code) && attempt.attempt < maxAttempts) {
      const delay = retryDelayMs(attempt.attempt, outcome.retryAfterMs);
      log.warn(
        { sessionId: session.id, messageOutId: row.id, code: outcome.code, delay },
        'delivery will be retried',
      );
      const state = stateOf(session.id);
      clearTimeout(state.retryTimer);
      state.retryTimer = setTimeout(() => {
        state.retryTimer = undefined;
        void deliverSession(session.id, true);
      }, delay);
      return false;
    }
    failRow(session, paths, row, outcome.code, outcome.error);
    return true;
  }

  /** A row that will never be delivered: recorded as failed (so it is not read again) and the agent told. */
  function failRow(
    session: Session,
    paths: SessionPaths,
    row: OutboundMessage,
    code: DeliveryErrorCode,
    error: string,
  ): void {
    const now = clock().toISOString();
    recordDelivered(paths, {
      messageOutId: row.id,
      platformMessageId: null,
      status: 'failed',
      deliveredAt: now,
    });
    tellAgent(session, paths, row, code, error, now);
    deps.onFailed?.({ sessionId: session.id, messageOutId: row.id, code });
  }

  type SendOutcome =
    | { ok: true; platformMessageId: string | null }
    | { ok: false; code: DeliveryErrorCode; error: string; retryAfterMs?: number };

  async function attemptSend(
    session: Session,
    paths: SessionPaths,
    row: OutboundMessage,
    address: Address,
    replyTargets: Map<string, string>,
    idempotencyKey: string,
    files: { name: string; path: string }[],
  ): Promise<SendOutcome> {
    if (!row.op) return { ok: false, code: 'invalid_request', error: row.error };
    // Its platform_id names an agent group, not a chat: never fall back to the session's own chat.
    if (row.kind === 'agent')
      return { ok: false, code: 'unsupported', error: 'no agent-to-agent delivery here' };
    if (!address.channelType || !address.platformId) {
      return {
        ok: false,
        code: 'invalid_request',
        error: 'the message has no address and the session no default one',
      };
    }
    const target = { channelType: address.channelType, platformId: address.platformId };
    if (!isDestinationAllowed(db, session, target)) {
      return {
        ok: false,
        code: 'destination_denied',
        error: `${address.channelType}:${address.platformId} is not this conversation nor one of the agent's destinations`,
      };
    }
    let channel: Channel;
    try {
      channel = deps.channels.get(address.channelType);
    } catch (err) {
      return { ok: false, code: 'unsupported', error: (err as Error).message };
    }
    const message = toChannelMessage(
      paths,
      row,
      address,
      replyTargets,
      idempotencyKey,
      channel.capabilities,
      files,
    );
    if ('unsupported' in message) return { ok: false, code: 'unsupported', error: message.unsupported };
    try {
      const result = await channel.send(message);
      return { ok: true, platformMessageId: result.platformMessageId };
    } catch (err) {
      if (err instanceof ChannelSendError) {
        return { ok: false, code: err.code, error: err.message, retryAfterMs: err.retryAfterMs };
      }
      return { ok: false, code: 'unknown', error: errorText(err) };
    }
  }

  function tellAgent(
    session: Session,
    paths: SessionPaths,
    row: OutboundMessage,
    code: DeliveryErrorCode,
    error: string,
    now: string,
  ): void {
    if (recentFailureNotices(paths, now) >= MAX_FAILURE_NOTICES) {
      // The agent's answers to these notices fail too: telling it again would loop forever.
      log.error(
        { sessionId: session.id, messageOutId: row.id, code, error },
        'delivery failed; agent not told again',
      );
      return;
    }
    log.warn(
      { sessionId: session.id, messageOutId: row.id, code, error },
      'delivery failed; the agent is told',
    );
    insertMessagesIn(paths, [
      {
        kind: 'system',
        timestamp: now,
        content: { event: 'delivery_failed', messageOutId: row.id, seq: row.seq, code, error },
      },
    ]);
    deps.wake(session.id);
  }
}

/** At most this many delivery_failed notices per session within FAILURE_NOTICE_WINDOW_MS. */
const MAX_FAILURE_NOTICES = 3;
const FAILURE_NOTICE_WINDOW_MS = 10 * 60_000;

function recentFailureNotices(paths: SessionPaths, now: string): number {
  const since = new Date(Date.parse(now) - FAILURE_NOTICE_WINDOW_MS).toISOString();
  return withSessionFile(paths, 'inbound', 'read', (db) =>
    db
      .prepare(
        `SELECT count(*) FROM messages_in
         WHERE kind = 'system' AND json_extract(content, '$.event') = 'delivery_failed' AND timestamp >= ?`,
      )
      .pluck()
      .get(since),
  ) as number;
}

interface Address {
  channelType: string | null;
  platformId: string | null;
  threadId: string | null;
}

/** The row's own address, else the session's default reply address. */
function addressOf(
  paths: SessionPaths,
  row: Pick<OutboundMessage, 'channel_type' | 'platform_id' | 'thread_id'>,
): Address {
  if (row.channel_type && row.platform_id) {
    return { channelType: row.channel_type, platformId: row.platform_id, threadId: row.thread_id };
  }
  const routing = withSessionFile(paths, 'inbound', 'read', (db) =>
    db.prepare('SELECT channel_type, platform_id, thread_id FROM session_routing WHERE id = 1').get(),
  ) as { channel_type: string | null; platform_id: string | null; thread_id: string | null } | undefined;
  return {
    channelType: routing?.channel_type ?? null,
    platformId: routing?.platform_id ?? null,
    threadId: routing?.thread_id ?? null,
  };
}

/** Builds what the channel gets, degrading what it cannot show (DESIGN §5: degradation is the host's job). */
function toChannelMessage(
  paths: SessionPaths,
  row: OutboundMessage,
  address: Address,
  replyTargets: Map<string, string>,
  idempotencyKey: string,
  capabilities: number,
  files: { name: string; path: string }[],
): ChannelMessage | { unsupported: string } {
  const op = row.op!;
  const base = { idempotencyKey, chatId: address.platformId!, threadId: address.threadId };
  const inReplyTo = row.in_reply_to ? (replyTargets.get(row.in_reply_to) ?? null) : null;
  switch (op.op) {
    case 'send': {
      if (op.card && !hasCapability(capabilities, 'RichCard')) {
        const numbered = op.card.options.map((o, i) => `${i + 1}. ${o.label}`).join('\n');
        const text = [op.text, `**${op.card.title}**`, op.card.body, numbered].filter(Boolean).join('\n\n');
        return { ...base, kind: 'send', text, inReplyTo, files };
      }
      return {
        ...base,
        kind: 'send',
        text: op.text,
        inReplyTo,
        files,
        ...(op.card ? { card: op.card } : {}),
      };
    }
    case 'edit': {
      const target = platformIdOfSeq(paths, op.targetSeq);
      if (!target || !hasCapability(capabilities, 'Edit')) {
        return { ...base, kind: 'send', text: op.text, inReplyTo, files: [] };
      }
      return { ...base, kind: 'edit', targetPlatformMessageId: target, text: op.text };
    }
    case 'react': {
      if (!hasCapability(capabilities, 'Reactions')) return { unsupported: 'this channel has no reactions' };
      const target = platformIdOfSeq(paths, op.targetSeq);
      if (!target) return { unsupported: `message ${op.targetSeq} has no platform message to react to` };
      return { ...base, kind: 'react', targetPlatformMessageId: target, emoji: op.emoji };
    }
    case 'ask':
    case 'action':
      return { unsupported: `"${op.op}" operations are not handled by this host yet` };
  }
}

export type Delivery = ReturnType<typeof createDelivery>;
