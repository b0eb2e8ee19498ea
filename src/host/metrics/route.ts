// GET /metrics on the host's loopback server. A scrape needs an API token like the admin API
// (Prometheus sends it with `authorization.credentials_file`), of an owner or an admin of the whole
// install: the numbers are aggregate, but they show when people talk to the agents, which groups
// spend what, and every platform's failures, which is the operator's business, as channel health is.
import { Hono } from 'hono';
import type { Db } from '../../db/connection.ts';
import { can } from '../access/index.ts';
import { apiTokenAuth, type ApiEnv } from '../api/index.ts';
import type { HostMetrics } from './registry.ts';

export function metricsApp(deps: { db: Db; clock: () => Date; metrics: Pick<HostMetrics, 'scrape'> }): Hono {
  const app = new Hono<ApiEnv>();
  app.use(apiTokenAuth(deps.db, deps.clock));
  app.get('/', async (c) => {
    if (!can(deps.db, c.get('userId'), { kind: 'administer', agentGroupId: null }).allowed)
      return c.json({ error: 'only owners and admins of the whole install may read metrics' }, 403);
    const { text, contentType } = await deps.metrics.scrape();
    return c.body(text, 200, { 'content-type': contentType, 'cache-control': 'no-store' });
  });
  // Mounted as a plain app: the token's user is a variable of this route only.
  return new Hono().route('/', app);
}
