// /metrics scraped while real containers answer web chat messages: the numbers match what happened.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createApiToken } from '../../src/db/tokens.ts';
import { createUser } from '../../src/db/users.ts';
import { parsePrometheusText, type Samples } from '../harness/prometheus.ts';
import { startWarren, waitUntil, type Warren } from '../harness/warren.ts';

describe('metrics at /metrics', () => {
  let warren: Warren;
  let token: string;

  beforeAll(async () => {
    warren = await startWarren();
    // What the operator's `warren tokens create` gives Prometheus.
    const owner = warren.wire.owner({ account: 'ops', name: 'Ops', dm: 'metrics-ops-dm' });
    token = createApiToken(warren.wire.db, owner.id, 'prometheus', new Date().toISOString()).token;
  });
  afterAll(() => warren?.stop());

  async function scrape(bearer: string | null = token): Promise<Response> {
    return fetch(`${warren.url}/metrics`, { headers: bearer ? { authorization: `Bearer ${bearer}` } : {} });
  }

  async function samples(): Promise<Samples> {
    const response = await scrape();
    expect(response.status).toBe(200);
    return parsePrometheusText(await response.text());
  }

  test('answered, duplicate and dropped messages, deliveries and container starts are counted', async () => {
    const chat = await warren.chat('metrics-a');
    await chat.send({ id: 'a1', text: 'hello' });
    await chat.waitForReplies(1);
    await chat.send({ id: 'a2', text: 'again' });
    await chat.waitForReplies(2);
    await chat.send({ id: 'a2', text: 'again' }); // a platform's redelivery
    const closedRoom = warren.wire.chat('metrics-closed');
    warren.wire.db
      .prepare('UPDATE messaging_groups SET denied_at = ? WHERE id = ?')
      .run(new Date().toISOString(), closedRoom.id);
    const closed = await warren.chat('metrics-closed');
    await closed.send({ id: 'c1', text: 'anyone?' });

    // The router and delivery count just after the chat sees the effect: wait for the last of each.
    const m = await waitUntil(
      async () => {
        const m = await samples();
        const settled =
          m.value('warren_messages_dropped_total', { reason: 'chat_denied' }) === 1 &&
          m.value('warren_delivery_latency_seconds_count') === 2 &&
          m.value('warren_sweep_duration_seconds_count') >= 1;
        return settled && m;
      },
      15_000,
      () => 'the dropped message, both deliveries and a sweep to be counted',
    );

    expect(m.value('warren_messages_in_total', { outcome: 'routed' })).toBe(2);
    expect(m.value('warren_messages_in_total', { outcome: 'duplicate' })).toBe(1);
    expect(m.value('warren_messages_in_total', { outcome: 'dropped' })).toBe(1);
    expect(m.value('warren_messages_routed_total')).toBe(2);
    expect(m.series('warren_messages_dropped_total')).toEqual([
      { labels: { reason: 'chat_denied' }, value: 1 },
    ]);
    expect(m.value('warren_delivery_latency_seconds_bucket', { le: '+Inf' })).toBe(2);
    expect(m.value('warren_delivery_latency_seconds_sum')).toBeGreaterThan(0);
    expect(m.series('warren_delivery_failures_total')).toEqual([]);

    const starts = m.value('warren_container_starts_total', { result: 'started' });
    expect(starts).toBeGreaterThanOrEqual(1);
    expect(m.value('warren_container_starts_total', { result: 'failed' })).toBe(0);
    expect(m.value('warren_container_start_seconds_count')).toBe(starts);
    expect(m.value('warren_containers_running')).toBeLessThanOrEqual(1);
    expect(m.value('warren_containers_queued')).toBe(0);
    expect(m.value('warren_approvals_pending')).toBe(0);
    expect(m.type('nodejs_eventloop_lag_p99_seconds')).toBe('gauge');
  });

  test('the exposition is Prometheus text, never cached', async () => {
    const response = await scrape();
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(response.headers.get('cache-control')).toBe('no-store');
    await response.body?.cancel();
  });

  test('a scrape without a token, or with an unknown one, is refused', async () => {
    const missing = await scrape(null);
    expect(missing.status).toBe(401);
    expect(await missing.text()).not.toContain('warren_');
    const wrong = await scrape('wrn_not-a-token');
    expect(wrong.status).toBe(401);
    expect(await wrong.text()).not.toContain('warren_');
  });

  test('a token of someone who administers nothing is refused', async () => {
    const now = new Date().toISOString();
    const member = createUser(warren.wire.db, { displayName: 'Member' }, now);
    const response = await scrape(createApiToken(warren.wire.db, member.id, 'curious', now).token);
    expect(response.status).toBe(403);
    expect(await response.text()).not.toContain('warren_');
  });
});
