// GET /api/dropped: messages Warren did not answer, counted per (chat, sender, reason), most recent
// first, and the messages held while an approval about their sender or chat is pending.
import { Hono } from 'hono';
import { z } from 'zod';
import type { Db } from '../../db/connection.ts';
import { listDroppedMessages } from '../../db/dropped-messages.ts';
import { DROP_REASONS } from '../../db/enums.ts';
import { listHeldByApproval } from '../../db/held-messages.ts';
import { installAdminsOnly, type ApiEnv } from './auth.ts';
import { badRequest } from './bad-request.ts';
import type { ApiOperation } from './openapi.ts';

const query = z.strictObject({ limit: z.coerce.number().int().min(1).max(200).default(50) });
const dropped = z.object({
  channelType: z.string(),
  chatId: z.string(),
  senderId: z.string(),
  reason: z.enum(DROP_REASONS),
  count: z.number().int(),
  firstAt: z.string(),
  lastAt: z.string(),
  lastMessageId: z.string().nullable(),
});
const held = z.object({ approvalId: z.string(), messages: z.number().int(), since: z.string() });

export const droppedOperations: ApiOperation[] = [
  {
    method: 'get',
    path: '/dropped',
    summary: 'dropped messages by chat, sender and reason; messages held for a pending approval',
    query,
    response: z.object({ items: z.array(dropped), held: z.array(held) }),
    errors: [400, 403],
  },
];

export function droppedApi(db: Db): Hono<ApiEnv> {
  return new Hono<ApiEnv>().get('/', installAdminsOnly(db, 'read dropped messages'), (c) => {
    const parsed = query.safeParse(c.req.query());
    if (!parsed.success) return badRequest(c, parsed.error);
    return c.json({ items: listDroppedMessages(db, parsed.data.limit), held: listHeldByApproval(db) });
  });
}
