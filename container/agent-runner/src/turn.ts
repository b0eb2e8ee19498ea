// One check for due work: read, fail what cannot be parsed, claim, run the provider, and end the
// turn with its replies and acks in one transaction.
import { join } from 'node:path';
import {
  ackMessages,
  finishTurn,
  readPendingWork,
  readDestinations,
  readRouting,
  readState,
  type NewMessageOut,
  type RunnerSession,
} from './db/session.ts';
import { formatTurn } from './formatter.ts';
import { beatWhile } from './heartbeat.ts';
import { assembleInstructions, MEMORY_FILE, readInstructionFiles } from './instructions.ts';
import { type RunnerLog } from './log.ts';
import type { WorkCheck, Woken } from './loop.ts';
import type { ToolConnection } from './mcp-tools/index.ts';
import { parseMessageRow, type TurnMessage } from './messages.ts';
import { createOutboundIds, type OutboundIds } from './outbound-ids.ts';
import { finalTexts, planTurn, targetFor, type TurnPlan } from './plan.ts';
import type { Provider, ProviderEvent } from './providers/provider.ts';
import { errorText } from '../../../src/shared/error-text.ts';
import type { MessageInRow } from '../../../src/shared/session-contract.ts';

export interface TurnDeps {
  session: RunnerSession;
  provider: Provider;
  clock: () => Date;
  log: RunnerLog;
  heartbeat: () => void;
  heartbeatMs: number;
  timezone: string;
  inDir: string;
  workspace: string;
  /** The agent's writable working folder, if it has one (send_file may send from it). */
  workDir?: string;
  outboxDir: string;
  /** The agent group's memory folder when it has one (update_memory, MEMORY.md in the instructions). */
  memoryDir?: string;
  /** Aborted on SIGTERM: the turn stops without acking, so the next runner picks its rows up. */
  signal: AbortSignal;
}

/** One check for due work; the turn's first log line names what woke it (`woken`). */
export async function checkForWork(deps: TurnDeps, woken?: Woken): Promise<WorkCheck> {
  const now = deps.clock();
  const { rows, nextDueAt } = readPendingWork(deps.session, now.toISOString());
  return { worked: rows.length > 0 && (await workOn(deps, rows, now, woken)), nextDueAt };
}

/** Fails the rows that cannot be parsed, claims the rest, runs the turn. `woken` is logged with it. */
async function workOn(deps: TurnDeps, rows: MessageInRow[], now: Date, woken?: Woken): Promise<boolean> {
  const messages: TurnMessage[] = [];
  let failed = 0;
  for (const row of rows) {
    const parsed = parseMessageRow(row);
    if (parsed.ok) {
      messages.push(parsed.value);
      continue;
    }
    ackMessages(deps.session, [row.id], 'failed', now.toISOString(), parsed.error);
    deps.log.warn('inbound message is invalid; acked failed', {
      corr: row.id,
      seq: row.seq,
      error: parsed.error,
    });
    failed++;
  }

  const plan = planTurn(messages, readRouting(deps.session));
  if (!plan) return failed > 0;
  // Claim first: a runner that dies from here on leaves the rows 'processing' for the next one.
  ackMessages(
    deps.session,
    plan.messages.map((m) => m.id),
    'processing',
    deps.clock().toISOString(),
  );
  deps.heartbeat();
  // Every line of the turn names the message it answers (src/shared/correlation.ts), and the others
  // it took along, so `warren logs SESSION --message ID` finds it.
  deps.log.bind(traceOf(plan));
  try {
    deps.log.info('turn started', { seq: plan.trigger.seq, kind: plan.trigger.kind, woken });
    await runTurn(plan, deps);
  } finally {
    deps.log.bind(undefined);
  }
  return true;
}

/** The log fields of a turn: the message it answers, and the whole batch when it took several. */
export function traceOf(plan: Pick<TurnPlan, 'messages' | 'trigger'>): { corr: string; batch?: string[] } {
  const corr = plan.trigger.id;
  return plan.messages.length > 1 ? { corr, batch: plan.messages.map((m) => m.id) } : { corr };
}

interface Collected {
  texts: { text: string; replyTo?: string }[];
  usage: { inputTokens: number; outputTokens: number };
  state: Map<string, string | null>;
  error: string | null;
  /** What the user is told when the turn failed; none: nothing is sent. */
  notice: string | null;
  aborted: boolean;
}

const emptyCollected = (): Collected => ({
  texts: [],
  usage: { inputTokens: 0, outputTokens: 0 },
  state: new Map(),
  error: null,
  notice: null,
  aborted: false,
});

async function runTurn(plan: TurnPlan, deps: TurnDeps): Promise<void> {
  const started = deps.clock();
  const ids = createOutboundIds(plan.messages[0]!.id);
  const scope = { conversation: plan.conversation, ids, sentTexts: new Set<string>(), corr: plan.trigger.id };
  const stopBeating = beatWhile(deps.heartbeat, deps.heartbeatMs);
  // The tool server is loaded and connected on the provider's first use: a turn without tools skips
  // its cost, and a runner that never calls a tool never loads the MCP SDK (about 30 ms of start-up).
  let tools: Promise<ToolConnection> | undefined;
  const toolClient = async () => {
    // Assigned at once, so concurrent first calls share one server.
    tools ??= import('./mcp-tools/index.ts').then(({ connectTools }) =>
      connectTools(
        {
          session: deps.session,
          clock: deps.clock,
          workspace: deps.workspace,
          ...(deps.workDir !== undefined ? { workDir: deps.workDir } : {}),
          outboxDir: deps.outboxDir,
          timezone: deps.timezone,
          memoryDir: deps.memoryDir,
        },
        scope,
      ),
    );
    return (await tools).client;
  };
  let result: Collected;
  try {
    const prompt = formatTurn(plan.messages, { timezone: deps.timezone, now: started, inDir: deps.inDir });
    const events = deps.provider.query({
      sessionId: deps.session.sessionId,
      prompt,
      messages: plan.messages,
      trigger: plan.trigger,
      tools: toolClient,
      signal: deps.signal,
      instructions: (toolPrefix) => instructionsFor(deps, toolPrefix),
      readState: (key) => readState(deps.session, key),
    });
    result = await collect(events, deps);
  } catch (err) {
    result = { ...emptyCollected(), error: errorText(err) };
  } finally {
    stopBeating();
    await tools?.then((t) => t.close()).catch(() => undefined);
  }
  if (result.aborted) {
    deps.log.warn('turn stopped by shutdown; its messages stay claimed for the next runner');
    return;
  }
  recordOutcome(plan, result, scope.sentTexts, ids, deps);
  const ms = deps.clock().getTime() - started.getTime();
  deps.log.info(result.error ? 'turn failed' : 'turn completed', {
    ms,
    error: result.error ?? undefined,
  });
}

function instructionsFor(deps: TurnDeps, toolPrefix: string): string {
  return assembleInstructions({
    ...readInstructionFiles(deps.workspace, deps.memoryDir),
    memoryPath: join(deps.memoryDir ?? '', MEMORY_FILE),
    destinations: readDestinations(deps.session),
    toolPrefix,
  });
}

/** Drains the provider's events; a shutdown stops waiting even if the provider ignores the signal. */
async function collect(events: AsyncIterable<ProviderEvent>, deps: TurnDeps): Promise<Collected> {
  const collected = emptyCollected();
  const iterator = events[Symbol.asyncIterator]();
  let onAbort = () => {};
  const stopped = new Promise<'stopped'>((resolve) => {
    onAbort = () => resolve('stopped');
    if (deps.signal.aborted) onAbort();
    deps.signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    for (;;) {
      const next = await Promise.race([iterator.next(), stopped]);
      if (next === 'stopped') {
        void iterator.return?.();
        return { ...collected, aborted: true };
      }
      if (next.done) return collected;
      const event = next.value;
      switch (event.type) {
        case 'text':
          collected.texts.push({ text: event.text, replyTo: event.replyTo });
          break;
        case 'tool_call':
          deps.log.info('tool call', {
            tool: event.name,
            args: event.args,
            isError: event.result.isError,
            result: event.result.text,
          });
          break;
        case 'usage':
          collected.usage.inputTokens += event.inputTokens;
          collected.usage.outputTokens += event.outputTokens;
          break;
        case 'state':
          collected.state.set(event.key, event.value);
          break;
        case 'error':
          await iterator.return?.();
          return { ...collected, error: event.message, notice: event.notice ?? null };
      }
    }
  } finally {
    deps.signal.removeEventListener('abort', onAbort);
  }
}

const MAX_ERROR_CHARS = 1000;

/** Replies and acks land together; if even that fails, the rows stay claimed and are tried again. */
function recordOutcome(
  plan: TurnPlan,
  result: Collected,
  sentByTools: ReadonlySet<string>,
  ids: OutboundIds,
  deps: TurnDeps,
): void {
  const now = deps.clock().toISOString();
  const state = [
    { key: 'usage', value: addUsage(readState(deps.session, 'usage'), result.usage) },
    ...[...result.state].map(([key, value]) => ({ key, value })),
  ];
  const ackIds = plan.messages.map((m) => m.id);
  const reply = (text: string, replyTo: string | undefined): NewMessageOut => {
    const target = targetFor(plan, replyTo);
    const operation = { op: 'send' as const, text, files: [] };
    return {
      id: ids({ target, operation }),
      kind: target.kind,
      operation,
      timestamp: now,
      inReplyTo: target.inReplyTo,
      corr: plan.trigger.id,
      channelType: target.address.channelType,
      platformId: target.address.platformId,
      threadId: target.address.threadId,
    };
  };
  if (result.error !== null) {
    // Failed for good (the provider already retried what could pass): one notice, if the provider
    // wrote one, and the rows acked failed in the same transaction. Nothing stays due, and the host
    // retries only rows a dead runner left claimed, so the user is never answered twice.
    finishTurn(deps.session, {
      replies: result.notice === null ? [] : [reply(result.notice, undefined)],
      ackIds,
      status: 'failed',
      error: truncate(result.error),
      state,
      now,
    });
    return;
  }
  const replies = result.texts.flatMap(({ text, replyTo }) =>
    finalTexts([text], sentByTools).map((final) => reply(final, replyTo)),
  );
  finishTurn(deps.session, { replies, ackIds, status: 'completed', state, now });
}

/** session_state 'usage': running totals for the session, for the host and the dashboard. */
function addUsage(stored: string | null, turn: Collected['usage']): string {
  const total = { inputTokens: 0, outputTokens: 0, turns: 0 };
  try {
    Object.assign(total, stored ? (JSON.parse(stored) as Partial<typeof total>) : {});
  } catch {
    // an unreadable total restarts from this turn rather than failing the turn
  }
  return JSON.stringify({
    inputTokens: total.inputTokens + turn.inputTokens,
    outputTokens: total.outputTokens + turn.outputTokens,
    turns: total.turns + 1,
  });
}

const truncate = (text: string) =>
  text.length > MAX_ERROR_CHARS ? `${text.slice(0, MAX_ERROR_CHARS - 1)}…` : text;
