import { describe, expect, test } from 'vitest';
import { createMetrics } from '../../src/host/metrics/index.ts';
import { parsePrometheusText } from '../harness/prometheus.ts';

async function scrape(metrics: ReturnType<typeof createMetrics>) {
  return parsePrometheusText((await metrics.scrape()).text);
}

describe('host metrics', () => {
  test('each message counts once on arrival; routed and dropped ones also by what became of them', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    metrics.routed({ status: 'routed' }, false);
    metrics.routed({ status: 'dropped', reason: 'no_wiring' }, false);
    metrics.routed({ status: 'dropped', reason: 'no_wiring' }, false);
    metrics.routed({ status: 'held' }, false);
    metrics.routed({ status: 'duplicate' }, false);
    // The held one, approved: routed, not a second arrival.
    metrics.routed({ status: 'routed' }, true);
    metrics.dropped('sender_rejected');

    const m = await scrape(metrics);
    expect(m.series('warren_messages_in_total')).toHaveLength(4);
    expect(m.value('warren_messages_in_total', { outcome: 'routed' })).toBe(1);
    expect(m.value('warren_messages_in_total', { outcome: 'dropped' })).toBe(2);
    expect(m.value('warren_messages_in_total', { outcome: 'held' })).toBe(1);
    expect(m.value('warren_messages_in_total', { outcome: 'duplicate' })).toBe(1);
    expect(m.value('warren_messages_routed_total')).toBe(2);
    expect(m.value('warren_messages_dropped_total', { reason: 'no_wiring' })).toBe(2);
    expect(m.value('warren_messages_dropped_total', { reason: 'sender_rejected' })).toBe(1);
  });

  test('delivery latency is a histogram in seconds; a negative latency (clock skew) counts as zero', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    metrics.delivered(30);
    metrics.delivered(700);
    metrics.delivered(-5);
    metrics.deliveryFailed('rate_limited');

    const m = await scrape(metrics);
    expect(m.type('warren_delivery_latency_seconds')).toBe('histogram');
    expect(m.value('warren_delivery_latency_seconds_count')).toBe(3);
    expect(m.value('warren_delivery_latency_seconds_sum')).toBeCloseTo(0.73);
    expect(m.value('warren_delivery_latency_seconds_bucket', { le: '0.05' })).toBe(2);
    expect(m.value('warren_delivery_latency_seconds_bucket', { le: '1' })).toBe(3);
    expect(m.value('warren_delivery_failures_total', { code: 'rate_limited' })).toBe(1);
  });

  test('container starts are counted by result and only successful ones are timed', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    metrics.containerStarted(400, true);
    metrics.containerStarted(20, false);

    const m = await scrape(metrics);
    expect(m.value('warren_container_starts_total', { result: 'started' })).toBe(1);
    expect(m.value('warren_container_starts_total', { result: 'failed' })).toBe(1);
    expect(m.value('warren_container_start_seconds_count')).toBe(1);
    expect(m.value('warren_container_start_seconds_sum')).toBeCloseTo(0.4);
  });

  test('gauges are read from their sources on every scrape', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    expect((await scrape(metrics)).value('warren_containers_running')).toBe(0);
    let state = { running: 2, queued: 5, pending: 3 };
    metrics.readFrom({
      containers: () => ({ running: state.running, queued: state.queued }),
      approvalsPending: () => state.pending,
    });
    let m = await scrape(metrics);
    expect([m.value('warren_containers_running'), m.value('warren_containers_queued')]).toEqual([2, 5]);
    expect(m.value('warren_approvals_pending')).toBe(3);
    state = { running: 0, queued: 0, pending: 1 };
    m = await scrape(metrics);
    expect([m.value('warren_containers_running'), m.value('warren_containers_queued')]).toEqual([0, 0]);
    expect(m.value('warren_approvals_pending')).toBe(1);
  });

  test('model calls count tokens by agent group and kind, and the gateway’s own refusals by reason', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const usage = { inputTokens: 100, outputTokens: 20, cacheReadTokens: 0, cacheWriteTokens: 7 };
    metrics.modelCall({ agentGroupId: 'ag_main', usage });
    metrics.modelCall({ agentGroupId: 'ag_main', usage });
    metrics.modelCall({ agentGroupId: 'ag_other', refused: 'budget_exhausted' });
    metrics.modelCall({ agentGroupId: 'ag_other', failure: 'timeout' });
    metrics.modelCall({ agentGroupId: 'ag_other', failure: 'client_closed' });

    const m = await scrape(metrics);
    expect(m.value('warren_model_tokens_total', { agent_group: 'ag_main', kind: 'input' })).toBe(200);
    expect(m.value('warren_model_tokens_total', { agent_group: 'ag_main', kind: 'output' })).toBe(40);
    expect(m.value('warren_model_tokens_total', { agent_group: 'ag_main', kind: 'cache_write' })).toBe(14);
    expect(m.series('warren_model_tokens_total')).toHaveLength(3); // no zero-token series
    expect(m.series('warren_gateway_refusals_total')).toEqual([
      { labels: { reason: 'budget_exhausted' }, value: 1 },
      { labels: { reason: 'upstream_timeout' }, value: 1 },
    ]);
  });

  test('approvals decided are counted by outcome and sweeps are timed', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    metrics.approvalDecided('approved');
    metrics.approvalDecided('expired_rejected');
    metrics.swept(3);

    const m = await scrape(metrics);
    expect(m.value('warren_approvals_decided_total', { status: 'approved' })).toBe(1);
    expect(m.value('warren_approvals_decided_total', { status: 'expired_rejected' })).toBe(1);
    expect(m.value('warren_sweep_duration_seconds_count')).toBe(1);
    expect(m.value('warren_sweep_duration_seconds_bucket', { le: '0.005' })).toBe(1);
  });

  test('two hosts in one process keep their own numbers, each with event-loop lag', async () => {
    const a = createMetrics();
    const b = createMetrics();
    a.routed({ status: 'routed' }, false);

    const [ma, mb] = [await scrape(a), await scrape(b)];
    expect(ma.value('warren_messages_routed_total')).toBe(1);
    expect(mb.value('warren_messages_routed_total')).toBe(0);
    expect(ma.type('nodejs_eventloop_lag_p99_seconds')).toBe('gauge');
    expect(mb.type('nodejs_eventloop_lag_seconds')).toBe('gauge');
    expect(ma.type('process_resident_memory_bytes')).toBe('gauge');
  });
});
