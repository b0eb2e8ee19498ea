// The admin HTTP API (DESIGN §8): mounted at /api on the host's loopback server. Every route needs a
// bearer token (`warren tokens create`); bodies and queries are validated with zod; lists page with
// a cursor. See docs/approvals.md for the approvals routes.
import { Hono } from 'hono';
import type { Db } from '../../db/connection.ts';
import type { ChannelHealth } from '../channels/index.ts';
import type { DecisionInput, DecisionOutcome } from '../approvals/index.ts';
import { approvalsApi } from './approvals.ts';
import { apiTokenAuth, type ApiEnv } from './auth.ts';
import { channelsApi } from './channels.ts';
import { deliveriesApi } from './deliveries.ts';

export { apiTokenAuth, type ApiEnv } from './auth.ts';

export interface AdminApiDeps {
  db: Db;
  clock: () => Date;
  approvals: { submitDecision(input: DecisionInput): Promise<DecisionOutcome> };
  /** Each channel's health by type (the channel registry). */
  channelHealth: () => Record<string, ChannelHealth>;
}

export function createAdminApi(deps: AdminApiDeps): Hono {
  const api = new Hono<ApiEnv>();
  api.use(apiTokenAuth(deps.db, deps.clock));
  api.route(
    '/approvals',
    approvalsApi({ db: deps.db, submitDecision: (input) => deps.approvals.submitDecision(input) }),
  );
  api.route('/channels', channelsApi(deps.db, deps.channelHealth));
  api.route('/deliveries', deliveriesApi(deps.db));
  // Mounted as a plain app: the token's user is a variable of these routes only.
  return new Hono().route('/', api);
}
