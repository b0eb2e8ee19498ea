// GET /api/deliveries: every outbound message's delivery, newest first, a cursor page at a time: its
// idempotency key, the conversation it went to (channel, chat, thread), how it ended, and each attempt
// with its error class from the closed taxonomy (docs/operations.md). Owners and admins of the whole
// install only: it names chats of every agent group.
import { Hono } from 'hono';
import { z } from 'zod';
import type { Db } from '../../db/connection.ts';
import { listDeliveries, type Delivery, type DeliveryAttempt } from '../../db/deliveries.ts';
import { DELIVERY_ERROR_CODES, DELIVERY_STATUSES } from '../../db/enums.ts';
import { installAdminsOnly, type ApiEnv } from './auth.ts';
import type { ApiOperation } from './openapi.ts';
import { badRequest } from './bad-request.ts';
import { decodeCursor, encodeCursor, pageOf, pageQuery } from './pagination.ts';

const listQuery = pageQuery
  .extend({
    channel: z.string().min(1).max(100).optional(),
    status: z.enum(DELIVERY_STATUSES).optional(),
  })
  .strict();

const nullable = z.string().nullable();
const attemptView = z.object({
  attempt: z.number().int(),
  status: z.enum(DELIVERY_STATUSES),
  errorCode: z.enum(DELIVERY_ERROR_CODES).nullable(),
  error: nullable,
  startedAt: z.string(),
  finishedAt: nullable,
});
const deliveryView = z.object({
  sessionId: nullable,
  messageOutId: z.string(),
  idempotencyKey: z.string(),
  channelType: z.string(),
  conversation: z.object({ chatId: nullable, threadId: nullable }),
  status: z.enum(DELIVERY_STATUSES),
  errorCode: z.enum(DELIVERY_ERROR_CODES).nullable(),
  platformMessageId: nullable,
  attempts: z.array(attemptView),
});

export const deliveriesOperations: ApiOperation[] = [
  {
    method: 'get',
    path: '/deliveries',
    summary: "every outbound message's delivery and its attempts, newest first",
    query: listQuery,
    response: pageOf(deliveryView),
    errors: [400, 403],
  },
];

export function deliveriesApi(db: Db): Hono<ApiEnv> {
  return new Hono<ApiEnv>().get('/', installAdminsOnly(db, 'read deliveries'), (c) => {
    const query = listQuery.safeParse(c.req.query());
    if (!query.success) return badRequest(c, query.error);
    const { cursor, limit, channel, status } = query.data;
    const after = cursor === undefined ? undefined : decodeCursor(cursor);
    const beforeId = after ? Number(after.id) : undefined;
    if (cursor !== undefined && !Number.isSafeInteger(beforeId))
      return c.json({ error: 'cursor: not a cursor this API gave' }, 400);
    const items = listDeliveries(db, {
      limit: limit + 1,
      ...(channel ? { channelType: channel } : {}),
      ...(status ? { status } : {}),
      ...(beforeId !== undefined ? { beforeId } : {}),
    });
    const page = items.slice(0, limit);
    const last = page.at(-1)?.first;
    const nextCursor =
      items.length > limit && last ? encodeCursor({ createdAt: last.startedAt, id: String(last.id) }) : null;
    return c.json({ items: page.map(view), nextCursor });
  });
}

function view({ first, attempts }: Delivery): z.infer<typeof deliveryView> {
  const latest = attempts.at(-1) ?? first;
  return {
    sessionId: first.sessionId,
    messageOutId: first.messageOutId,
    idempotencyKey: first.idempotencyKey,
    channelType: first.channelType,
    conversation: { chatId: first.chatId, threadId: first.threadId },
    status: latest.status,
    errorCode: latest.errorCode,
    platformMessageId: latest.platformMessageId,
    attempts: attempts.map(viewOfAttempt),
  };
}

const viewOfAttempt = (a: DeliveryAttempt) => ({
  attempt: a.attempt,
  status: a.status,
  errorCode: a.errorCode,
  error: a.error,
  startedAt: a.startedAt,
  finishedAt: a.finishedAt,
});
