// GET /api/channels: each channel's health as its liveness watchdog sees it (docs/channels.md). Owners
// and admins of the whole install only: it names every platform Warren is connected to.
import { Hono } from 'hono';
import type { Db } from '../../db/connection.ts';
import { can } from '../access/index.ts';
import type { ChannelHealth } from '../channels/index.ts';
import type { ApiEnv } from './auth.ts';

export function channelsApi(db: Db, health: () => Record<string, ChannelHealth>): Hono<ApiEnv> {
  return new Hono<ApiEnv>().get('/', (c) => {
    if (!can(db, c.get('userId'), { kind: 'administer', agentGroupId: null }).allowed)
      return c.json({ error: 'only owners and admins of the whole install may read channel health' }, 403);
    return c.json({ channels: Object.entries(health()).map(([type, h]) => ({ type, ...h })) });
  });
}
