// GET /metrics on the host's loopback server. A scrape needs an API token like the admin API
// (Prometheus sends it with `authorization.credentials_file`): the numbers are aggregate, but they
// show when the operator's people are active and what the agents cost, which is the operator's alone.
import { Hono } from 'hono';
import type { Db } from '../../db/connection.ts';
import { apiTokenAuth } from '../api/index.ts';
import type { HostMetrics } from './registry.ts';

export function metricsApp(deps: { db: Db; clock: () => Date; metrics: Pick<HostMetrics, 'scrape'> }): Hono {
  const app = new Hono();
  app.use(apiTokenAuth(deps.db, deps.clock));
  app.get('/', async (c) => {
    const { text, contentType } = await deps.metrics.scrape();
    return c.body(text, 200, { 'content-type': contentType, 'cache-control': 'no-store' });
  });
  return app;
}
