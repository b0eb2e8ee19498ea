// The admin HTTP API (DESIGN §8): mounted at /api on the host's loopback server. Every route but the
// OpenAPI document needs a bearer token (`warren tokens create`); bodies and queries are validated
// with zod; lists page with a cursor. docs/api.md lists the routes; /api/openapi.json describes them.
import { Hono } from 'hono';
import type { Db } from '../../db/connection.ts';
import type { ChannelHealth } from '../channels/index.ts';
import type { DecisionInput, DecisionOutcome } from '../approvals/index.ts';
import { approvalsApi, approvalsOperations } from './approvals.ts';
import { apiTokenAuth, type ApiEnv } from './auth.ts';
import { channelsApi, channelsOperations } from './channels.ts';
import { deliveriesApi, deliveriesOperations } from './deliveries.ts';
import { droppedApi, droppedOperations } from './dropped.ts';
import { groupsApi, groupsOperations } from './groups.ts';
import { openApiDocument, type ApiOperation } from './openapi.ts';
import { sessionsApi, sessionsOperations } from './sessions.ts';
import { statusApi, statusOperations } from './status.ts';
import { tasksApi, tasksOperations } from './tasks.ts';
import { tokensApi, tokensOperations } from './tokens.ts';
import { usageApi, usageOperations } from './usage.ts';
import { usersApi, usersOperations } from './users.ts';
import { wiringsApi, wiringsOperations } from './wirings.ts';
import { eventsApi, eventsOperations } from './events.ts';
import { createLogger, type Logger } from '../logger.ts';

export { apiTokenAuth, type ApiEnv } from './auth.ts';

export interface AdminApiDeps {
  db: Db;
  clock: () => Date;
  dataDir: string;
  approvals: { submitDecision(input: DecisionInput): Promise<DecisionOutcome> };
  /** Each channel's health by type (the channel registry). */
  channelHealth: () => Record<string, ChannelHealth>;
  /** Why the container engine does not answer, or null when it does. */
  engineProblem: () => Promise<string | null>;
  /** Whether a secret (a model key) by that name is set; its value never leaves the host. */
  hasSecret: (name: string) => boolean;
  /** Where the event stream reports trouble reading changes; a warn-level logger by default. */
  log?: Logger;
}

/** Every route of the API, as the OpenAPI document lists it. */
export const API_OPERATIONS: readonly ApiOperation[] = [
  ...statusOperations,
  ...groupsOperations,
  ...wiringsOperations,
  ...sessionsOperations,
  ...deliveriesOperations,
  ...channelsOperations,
  ...approvalsOperations,
  ...usersOperations,
  ...tasksOperations,
  ...usageOperations,
  ...droppedOperations,
  ...eventsOperations,
  ...tokensOperations,
];

export function createAdminApi(deps: AdminApiDeps): Hono {
  const { db, clock } = deps;
  const document = openApiDocument(API_OPERATIONS);
  const api = new Hono<ApiEnv>();
  api.use(apiTokenAuth(db, clock));
  api.route('/status', statusApi(deps));
  api.route('/groups', groupsApi(deps));
  api.route('/wirings', wiringsApi(db, clock));
  api.route('/sessions', sessionsApi(db, clock));
  api.route('/deliveries', deliveriesApi(db));
  api.route('/channels', channelsApi(db, deps.channelHealth));
  api.route(
    '/approvals',
    approvalsApi({ db, submitDecision: (input) => deps.approvals.submitDecision(input) }),
  );
  api.route('/users', usersApi(db, clock));
  api.route('/tasks', tasksApi(db, deps.dataDir));
  api.route('/usage', usageApi(db));
  api.route('/dropped', droppedApi(db));
  api.route('/tokens', tokensApi(db, clock));
  api.route('/events', eventsApi({ ...deps, log: deps.log ?? createLogger('warn') }));
  // The document names no data, so tools may fetch it without a token; everything else needs one.
  // Mounted as a plain app: the token's user is a variable of the API's routes only.
  return new Hono().get('/openapi.json', (c) => c.json(document)).route('/', api);
}
