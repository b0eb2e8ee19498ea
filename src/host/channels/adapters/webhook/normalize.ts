// The inbound body an integrator POSTs (docs/channels.md, "Signed webhooks") → Warren's inbound shape.
// The signature proves the integrator sent it; the ids inside are the integrator's own, valid only within
// this installation's channel type (a sender "42" here is nobody on any other channel).
import { z } from 'zod';
import type { InboundMessage } from '../../channel.ts';

const Id = z.string().regex(/^[\x21-\x7e]{1,256}$/, 'must be 1 to 256 printable ASCII characters, no spaces');
const Name = z.string().min(1).max(256);
/** Button tokens are what post() put on a button: at most 64 printable ASCII characters. */
const ButtonToken = z.string().regex(/^[\x20-\x7e]{1,64}$/, 'must be the token of a button Warren sent');
const MAX_TEXT = 100_000;

export const InboundBody = z
  .strictObject({
    /** The integrator's id for the message; defaults to the webhook-id. Replies name it in `replyTo`. */
    messageId: Id.optional(),
    chat: z.strictObject({ id: Id, name: Name.optional(), isGroup: z.boolean().default(false) }),
    sender: z.strictObject({ id: Id, name: Name.optional(), isBot: z.boolean().default(false) }),
    text: z.string().max(MAX_TEXT).default(''),
    threadId: Id.nullish(),
    /** The id of the message this one answers (one of Warren's replies, or the integrator's own). */
    replyTo: Id.optional(),
    /** Whether the message is addressed to the agent (a group wired to answer mentions only needs it). */
    mentioned: z.boolean().default(true),
    /** When it was said (ISO 8601); defaults to when it arrived. */
    timestamp: z.iso.datetime({ offset: true }).optional(),
    /** A button press: the token of a button from one of Warren's messages, and that message's id. */
    action: z.strictObject({ token: ButtonToken, messageId: Id.optional() }).optional(),
  })
  .refine((body) => body.text !== '' || body.action !== undefined, {
    message: 'a message needs text or an action',
    path: ['text'],
  });
export type InboundBody = z.infer<typeof InboundBody>;

/** The body, validated, as an InboundMessage; or the first problem, naming its field. */
export function normalizeBody(
  raw: unknown,
  delivery: { installation: string; webhookId: string; receivedAt: Date },
): { ok: true; message: InboundMessage } | { ok: false; problem: string } {
  const parsed = InboundBody.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return { ok: false, problem: `${issue.path.join('.') || 'body'}: ${issue.message}` };
  }
  const body = parsed.data;
  const { installation } = delivery;
  const platformMessageId = body.messageId ?? delivery.webhookId;
  return {
    ok: true,
    message: {
      channelType: installation,
      installation,
      platformMessageId,
      chat: { id: body.chat.id, isGroup: body.chat.isGroup, ...(body.chat.name && { name: body.chat.name }) },
      sender: {
        id: body.sender.id,
        isBot: body.sender.isBot,
        ...(body.sender.name && { name: body.sender.name }),
      },
      threadId: body.threadId ?? null,
      text: body.action && body.text === '' ? body.action.token : body.text,
      attachments: [],
      ...(body.replyTo !== undefined && {
        replyTo: { platformMessageId: body.replyTo, text: '', sender: '' },
      }),
      mentioned: body.mentioned,
      timestamp: body.timestamp ? new Date(body.timestamp).toISOString() : delivery.receivedAt.toISOString(),
      ...(body.action && {
        action: {
          value: body.action.token,
          ...(body.action.messageId !== undefined && { platformMessageId: body.action.messageId }),
        },
      }),
    },
  };
}
