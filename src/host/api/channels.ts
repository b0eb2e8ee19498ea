// GET /api/channels: each channel's health as its liveness watchdog sees it (docs/channels.md). Owners
// and admins of the whole install only: it names every platform Warren is connected to.
import { Hono } from 'hono';
import { z } from 'zod';
import type { Db } from '../../db/connection.ts';
import type { ChannelHealth } from '../channels/index.ts';
import { installAdminsOnly, type ApiEnv } from './auth.ts';
import type { ApiOperation } from './openapi.ts';

const channelView = z.object({
  type: z.string(),
  connected: z.boolean(),
  lastInboundAt: z.string().nullable(),
  lastOutboundAt: z.string().nullable(),
  lastError: z.string().nullable(),
});

export const channelsOperations: ApiOperation[] = [
  {
    method: 'get',
    path: '/channels',
    summary: "each channel's health as its watchdog sees it",
    response: z.object({ channels: z.array(channelView) }),
    errors: [403],
  },
];

export function channelsApi(db: Db, health: () => Record<string, ChannelHealth>): Hono<ApiEnv> {
  return new Hono<ApiEnv>().get('/', installAdminsOnly(db, 'read channel health'), (c) => {
    return c.json({ channels: Object.entries(health()).map(([type, h]) => ({ type, ...h })) });
  });
}
