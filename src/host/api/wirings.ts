// /api/wirings: which agent group answers in which chat. List, wire (the chat is created when
// missing) and unwire, with the same checks, transaction and audit row as `warren wire|unwire`
// (src/host/wirings.ts). The actor in the audit row is the token's user.
import { Hono } from 'hono';
import { z } from 'zod';
import type { Db } from '../../db/connection.ts';
import {
  ENGAGE_MODES,
  IGNORED_MESSAGE_POLICIES,
  SENDER_SCOPES,
  SESSION_MODES,
  UNKNOWN_SENDER_POLICIES,
} from '../../db/enums.ts';
import { listWiringViews, unwire, wireChat, wireRequest, type WiringRefusal } from '../wirings.ts';
import { installAdminsOnly, type ApiEnv } from './auth.ts';
import { badCursor, badRequest } from './bad-request.ts';
import { limitBody, readJsonBody } from './json-body.ts';
import type { ApiOperation } from './openapi.ts';
import { keysetPage, pageOf, pageQuery } from './pagination.ts';

const wiringView = z.object({
  id: z.string(),
  chat: z.string(),
  chatName: z.string().nullable(),
  isGroup: z.boolean(),
  agentGroup: z.string(),
  engageMode: z.enum(ENGAGE_MODES),
  engagePattern: z.string().nullable(),
  sessionMode: z.enum(SESSION_MODES),
  unknownSenders: z.enum(UNKNOWN_SENDER_POLICIES),
  senderScope: z.enum(SENDER_SCOPES),
  ignoredMessages: z.enum(IGNORED_MESSAGE_POLICIES),
  priority: z.number().int(),
  denied: z.boolean(),
  createdAt: z.string(),
});
const listQuery = pageQuery.strict();

export const wiringsOperations: ApiOperation[] = [
  {
    method: 'get',
    path: '/wirings',
    summary: 'every wiring, oldest first',
    query: listQuery,
    response: pageOf(wiringView),
    errors: [400, 403],
  },
  {
    method: 'post',
    path: '/wirings',
    summary: "wire a chat (CHANNEL:CHAT_ID) to an agent group; applies to the chat's next message",
    body: wireRequest,
    response: z.object({ wiring: wiringView, notes: z.array(z.string()) }),
    status: 201,
    errors: [400, 403, 404, 409, 413, 415],
  },
  {
    method: 'delete',
    path: '/wirings/:id',
    summary: "unwire; the chat's sessions with the group stay active",
    response: z.object({ wiring: wiringView, openSessions: z.array(z.string()) }),
    errors: [403, 404],
  },
];

const STATUS_OF = { invalid: 400, not_found: 404, conflict: 409 } as const;

export function wiringsApi(db: Db, clock: () => Date): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();
  app.use(installAdminsOnly(db, 'read or change wirings'));

  app.get('/', (c) => {
    const query = listQuery.safeParse(c.req.query());
    if (!query.success) return badRequest(c, query.error);
    const page = keysetPage(listWiringViews(db), (w) => w, query.data);
    return page ? c.json(page) : badCursor(c);
  });

  app.post('/', limitBody(), async (c) => {
    const body = await readJsonBody(c, wireRequest);
    if (!body.ok) return body.response;
    const outcome = wireChat(db, body.value, `api:${c.get('userId')}`, clock());
    if (!outcome.ok) return refusal(c.json.bind(c), outcome);
    return c.json({ wiring: outcome.wiring, notes: outcome.notes }, 201);
  });

  app.delete('/:id', (c) => {
    const outcome = unwire(db, c.req.param('id'), `api:${c.get('userId')}`, clock());
    if (!outcome.ok) return refusal(c.json.bind(c), outcome);
    return c.json({ wiring: outcome.wiring, openSessions: outcome.openSessions });
  });

  return app;
}

function refusal(json: (body: object, status: 400 | 404 | 409) => Response, r: WiringRefusal): Response {
  const error = r.reason === 'invalid' ? `${r.field}: ${r.error}` : r.error;
  return json({ error }, STATUS_OF[r.reason]);
}
