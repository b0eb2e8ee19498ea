// The host's Prometheus metrics (DESIGN §8, docs/operations.md): one registry per host (never
// prom-client's global one, so a test process can run several hosts), and the small set of named
// hooks the parts call. Each hook is a counter or histogram update: nothing here touches a file or
// the database on a message's path. Gauges of current state (containers, pending approvals) are
// read when Prometheus scrapes. Label values come from closed sets or agent group ids, never from
// users or chats, so the number of series stays bounded.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { TokenCounts } from '../../db/model-usage.ts';
import type { ApprovalStatus, DeliveryErrorCode, DropReason } from '../../db/enums.ts';

/** What the router made of a message (its RouteOutcome, or the part metrics read of it). */
export interface RoutedMessage {
  status: 'duplicate' | 'intercepted' | 'control' | 'held' | 'dropped' | 'routed';
  reason?: DropReason;
}

/** One model call through the gateway, as its `report` describes it (gateway/call.ts). */
export interface ModelCall {
  agentGroupId: string;
  refused?: string;
  failure?: string;
  usage?: TokenCounts;
}

/** Read on every scrape: what is true now rather than what happened. */
export interface MetricSources {
  containers(): { running: number; queued: number };
  approvalsPending(): number;
}

/** The hooks the parts call, one per thing that happened. */
export interface Metrics {
  /** The router settled a message: a first arrival, or (replay) a held one routed after its approval. */
  routed(outcome: RoutedMessage, replay: boolean): void;
  /** A held message dropped because its approval was rejected or expired (approvals/held.ts). */
  dropped(reason: DropReason): void;
  /** An outbound row reached its chat, `latencyMs` after the runner wrote it (or after its deliver_after). */
  delivered(latencyMs: number): void;
  /** An outbound row failed for good (no retry left, or a code that is never retried). */
  deliveryFailed(code: DeliveryErrorCode): void;
  /** A container start: `ms` from the pool's decision to start it until the engine said it runs. */
  containerStarted(ms: number, ok: boolean): void;
  /** An approval's decision was followed up (once per approval, whoever decided: card, API, CLI, expiry). */
  approvalDecided(status: Exclude<ApprovalStatus, 'pending'>): void;
  modelCall(call: ModelCall): void;
  swept(ms: number): void;
}

export interface HostMetrics extends Metrics {
  /** Where the scrape-time gauges read from (the pool and the database exist after the registry). */
  readFrom(sources: MetricSources): void;
  /** The exposition text and its content type. */
  scrape(): Promise<{ text: string; contentType: string }>;
}

/** Seconds: a chat reply should go out in well under a second; a slow platform takes tens. */
const LATENCY_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];
/** Seconds: creating and starting a container takes ~0.1–2 s; a cold engine or a pull, longer. */
const START_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60];
/** Seconds: a sweep over an idle host is a few milliseconds. */
const SWEEP_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5];

const TOKEN_KINDS = [
  ['input', 'inputTokens'],
  ['output', 'outputTokens'],
  ['cache_read', 'cacheReadTokens'],
  ['cache_write', 'cacheWriteTokens'],
] as const;

/** The gateway's call failures that reached the container as its own refusal (gateway/forward.ts). */
const FAILURE_REFUSALS: Record<string, string> = {
  timeout: 'upstream_timeout',
  unreachable: 'upstream_unreachable',
};

export function createMetrics(options: { defaultMetrics?: boolean } = {}): HostMetrics {
  const registry = new Registry();
  // Process CPU and memory, GC, and event-loop lag (nodejs_eventloop_lag_*, monitorEventLoopDelay).
  // The lag is sampled every 100 ms, not prom-client's 10: each sample is a timer that wakes the
  // host, 100 times a second at 10 ms even when it is idle (about 50 µs of CPU each on a small VM).
  if (options.defaultMetrics !== false) {
    collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 100 });
  }
  let sources: MetricSources | undefined;
  const i = instruments(registry, () => sources);

  return {
    routed(outcome, replay) {
      if (!replay) i.messagesIn.inc({ outcome: outcome.status });
      if (outcome.status === 'routed') i.messagesRouted.inc();
      else if (outcome.status === 'dropped' && outcome.reason)
        i.messagesDropped.inc({ reason: outcome.reason });
    },
    dropped: (reason) => i.messagesDropped.inc({ reason }),
    delivered: (latencyMs) => i.deliveryLatency.observe(Math.max(0, latencyMs) / 1000),
    deliveryFailed: (code) => i.deliveryFailures.inc({ code }),
    containerStarted(ms, ok) {
      i.containerStarts.inc({ result: ok ? 'started' : 'failed' });
      if (ok) i.containerStartSeconds.observe(ms / 1000);
    },
    approvalDecided: (status) => i.approvalsDecided.inc({ status }),
    modelCall(call) {
      const refusal = call.refused ?? (call.failure ? FAILURE_REFUSALS[call.failure] : undefined);
      if (refusal) i.gatewayRefusals.inc({ reason: refusal });
      if (!call.usage) return;
      for (const [kind, field] of TOKEN_KINDS) {
        const n = call.usage[field];
        if (n > 0) i.modelTokens.inc({ agent_group: call.agentGroupId, kind }, n);
      }
    },
    swept: (ms) => i.sweepSeconds.observe(ms / 1000),
    readFrom: (next) => void (sources = next),
    scrape: async () => ({ text: await registry.metrics(), contentType: registry.contentType }),
  };
}

function instruments(registry: Registry, sources: () => MetricSources | undefined) {
  const registers = [registry];
  return {
    messagesIn: new Counter({
      name: 'warren_messages_in_total',
      help: 'Inbound chat messages the router settled, by what became of them on arrival.',
      labelNames: ['outcome'] as const,
      registers,
    }),
    messagesRouted: new Counter({
      name: 'warren_messages_routed_total',
      help: 'Inbound messages written to at least one session (held ones included once approved).',
      registers,
    }),
    messagesDropped: new Counter({
      name: 'warren_messages_dropped_total',
      help: 'Inbound messages recorded as dropped, by reason (warren dropped).',
      labelNames: ['reason'] as const,
      registers,
    }),
    deliveryLatency: new Histogram({
      name: 'warren_delivery_latency_seconds',
      help: 'From an outbound row written by the runner (or its deliver_after) to delivered to its chat.',
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    deliveryFailures: new Counter({
      name: 'warren_delivery_failures_total',
      help: 'Outbound rows that failed for good, by error code.',
      labelNames: ['code'] as const,
      registers,
    }),
    containersRunning: new Gauge({
      name: 'warren_containers_running',
      help: 'Session containers running now.',
      registers,
      collect() {
        this.set(sources()?.containers().running ?? 0);
      },
    }),
    containersQueued: new Gauge({
      name: 'warren_containers_queued',
      help: 'Sessions waiting for a container slot now.',
      registers,
      collect() {
        this.set(sources()?.containers().queued ?? 0);
      },
    }),
    containerStarts: new Counter({
      name: 'warren_container_starts_total',
      help: 'Session container starts, by result.',
      labelNames: ['result'] as const,
      registers,
    }),
    containerStartSeconds: new Histogram({
      name: 'warren_container_start_seconds',
      help: 'Time to start a session container (gateway socket, create, start).',
      buckets: START_BUCKETS,
      registers,
    }),
    approvalsPending: new Gauge({
      name: 'warren_approvals_pending',
      help: 'Approvals waiting for a decision now.',
      registers,
      collect() {
        this.set(sources()?.approvalsPending() ?? 0);
      },
    }),
    approvalsDecided: new Counter({
      name: 'warren_approvals_decided_total',
      help: 'Approvals decided, by outcome.',
      labelNames: ['status'] as const,
      registers,
    }),
    modelTokens: new Counter({
      name: 'warren_model_tokens_total',
      help: 'Model tokens the providers reported, by agent group and kind.',
      labelNames: ['agent_group', 'kind'] as const,
      registers,
    }),
    gatewayRefusals: new Counter({
      name: 'warren_gateway_refusals_total',
      help: 'Model calls the gateway answered itself instead of the provider, by reason.',
      labelNames: ['reason'] as const,
      registers,
    }),
    sweepSeconds: new Histogram({
      name: 'warren_sweep_duration_seconds',
      help: 'Duration of one sweep over the sessions.',
      buckets: SWEEP_BUCKETS,
      registers,
    }),
  };
}
