// GET /api/status: the `warren status --json` document (docs/operations.md), gathered the same way,
// by the host that answers, so `host.running` is true here.
import { Hono } from 'hono';
import { z } from 'zod';
import type { Db } from '../../db/connection.ts';
import { gatherStatus } from '../status-report.ts';
import { installAdminsOnly, type ApiEnv } from './auth.ts';
import type { ApiOperation } from './openapi.ts';

const nullable = z.string().nullable();
const statusDocument = z.object({
  version: z.literal(1),
  generatedAt: z.string(),
  host: z.object({
    running: z.boolean(),
    pid: z.number().int().nullable(),
    startedAt: nullable,
    lastBeatAt: nullable,
    sweepLagMs: z.number().nullable(),
    lastSweepMs: z.number().nullable(),
  }),
  engine: z.object({ reachable: z.boolean(), error: nullable }),
  containers: z.object({ running: z.number().int(), queued: z.number().int() }).nullable(),
  channels: z.array(
    z.object({
      type: z.string(),
      installation: z.enum(['enabled', 'disabled', 'error', 'built-in']),
      connected: z.boolean().nullable(),
      lastInboundAt: nullable,
      lastOutboundAt: nullable,
      lastError: nullable,
    }),
  ),
  approvals: z.object({ pending: z.number().int() }),
  heldMessages: z.number().int(),
  deliveries: z.object({
    failedLastDay: z.number().int(),
    recentFailures: z.array(
      z.object({
        at: z.string(),
        sessionId: nullable,
        channelType: z.string(),
        chatId: nullable,
        errorCode: nullable,
        error: nullable,
      }),
    ),
  }),
  stuckMessages: z.array(
    z.object({
      sessionId: z.string(),
      agentGroupId: z.string(),
      messageId: z.string(),
      status: z.enum(['pending', 'failed']),
      tries: z.number().int(),
      timestamp: z.string(),
    }),
  ),
  problems: z.array(z.string()),
});

export const statusOperations: ApiOperation[] = [
  {
    method: 'get',
    path: '/status',
    summary: 'what is wrong, as `warren status --json` shows it',
    response: statusDocument,
    errors: [403],
  },
];

export interface StatusApiDeps {
  db: Db;
  dataDir: string;
  clock: () => Date;
  /** Why the container engine does not answer, or null when it does. */
  engineProblem: () => Promise<string | null>;
}

export function statusApi(deps: StatusApiDeps): Hono<ApiEnv> {
  return new Hono<ApiEnv>().get('/', installAdminsOnly(deps.db, 'read the status'), async (c) => {
    const report: z.infer<typeof statusDocument> = await gatherStatus({
      db: deps.db,
      dataDir: deps.dataDir,
      now: deps.clock(),
      hostRunning: true,
      engineProblem: deps.engineProblem,
    });
    return c.json(report);
  });
}
