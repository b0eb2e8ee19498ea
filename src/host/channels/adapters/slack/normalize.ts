// Slack events → Warren's inbound shape, as pure functions of the (hostile) payload and who the bot is.
// Every field is validated with bounded lengths first; anything that does not fit is skipped with a reason.
import { z } from 'zod';
import type { InboundMessage } from '../../channel.ts';

/** Who the bot is (from auth.test) and which installation received the event. */
export interface SlackIdentity {
  installation: string;
  botUserId: string;
  botId?: string;
}

/** A file a message carries: downloaded by the adapter (files.ts) only from an allowed origin. */
export interface SlackFileRef {
  name: string;
  type: string;
  size: number;
  url?: string;
}

export type Normalized =
  | { kind: 'message'; message: Omit<InboundMessage, 'attachments'>; files: SlackFileRef[] }
  | { kind: 'skip'; reason: string };

// Slack ids (U…, W…, C…, D…, G…, B…, T…) and timestamps ("1700000000.000100").
const SlackId = z.string().regex(/^[A-Z0-9]{1,40}$/);
const Ts = z.string().regex(/^\d{1,12}\.\d{1,9}$/);
/** Slack caps a message at 40,000 characters; entities (&amp;) can make the wire text longer. */
const MAX_INBOUND_TEXT = 120_000;
const Name = z.string().max(512);

const SlackFile = z.object({
  id: z.string().max(64).optional(),
  name: Name.optional(),
  title: Name.optional(),
  mimetype: z.string().max(255).optional(),
  size: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER).optional(),
  url_private_download: z.string().max(4096).optional(),
  url_private: z.string().max(4096).optional(),
});

export const MessageEvent = z.object({
  type: z.enum(['message', 'app_mention']),
  subtype: z.string().max(64).optional(),
  channel: SlackId,
  channel_type: z.string().max(32).optional(),
  user: SlackId.optional(),
  bot_id: SlackId.optional(),
  username: Name.optional(),
  text: z.string().max(MAX_INBOUND_TEXT).optional(),
  ts: Ts,
  thread_ts: Ts.optional(),
  parent_user_id: SlackId.optional(),
  files: z.array(SlackFile).max(50).optional(),
});
export type MessageEvent = z.infer<typeof MessageEvent>;

/** Message subtypes that are someone saying something; edits, joins, deletions and the like are not. */
const SAID = new Set([undefined, 'file_share', 'thread_broadcast', 'bot_message', 'me_message']);

/** A Slack `message` or `app_mention` event (the `event` of an event_callback), normalized. */
export function normalizeMessageEvent(raw: unknown, who: SlackIdentity): Normalized {
  const parsed = MessageEvent.safeParse(raw);
  if (!parsed.success) return { kind: 'skip', reason: `malformed ${describeType(raw)} event` };
  const event = parsed.data;
  if (!SAID.has(event.subtype)) return { kind: 'skip', reason: `message subtype ${event.subtype}` };
  if (event.user === who.botUserId || (event.bot_id !== undefined && event.bot_id === who.botId)) {
    return { kind: 'skip', reason: "the bot's own message" };
  }
  const senderId = event.user ?? event.bot_id;
  if (senderId === undefined) return { kind: 'skip', reason: 'message without a sender' };

  const isDirect =
    event.channel_type === 'im' || (event.channel_type === undefined && event.channel.startsWith('D'));
  const text = event.text ?? '';
  const inThread = event.thread_ts !== undefined && event.thread_ts !== event.ts;
  const replyToBot = inThread && event.parent_user_id === who.botUserId;
  const mentioned =
    isDirect || event.type === 'app_mention' || mentionPattern(who.botUserId, '').test(text) || replyToBot;

  return {
    kind: 'message',
    message: {
      channelType: who.installation,
      installation: who.installation,
      platformMessageId: event.ts,
      chat: { id: event.channel, isGroup: !isDirect },
      sender: {
        id: senderId,
        ...(event.username !== undefined && { name: event.username }),
        isBot: event.bot_id !== undefined,
      },
      threadId: inThread ? event.thread_ts! : null,
      text: stripMention(text, mentionPattern(who.botUserId, 'g')),
      ...(inThread &&
        event.parent_user_id !== undefined && {
          replyTo: { platformMessageId: event.thread_ts!, text: '', sender: event.parent_user_id },
        }),
      mentioned,
      timestamp: tsToIso(event.ts),
    },
    files: (event.files ?? []).map((file) => ({
      name: file.name ?? file.title ?? file.id ?? 'file',
      type: file.mimetype ?? 'application/octet-stream',
      size: file.size ?? 0,
      ...(file.url_private_download !== undefined && { url: file.url_private_download }),
    })),
  };
}

const BlockActions = z.object({
  type: z.literal('block_actions'),
  trigger_id: z.string().max(128).optional(),
  user: z.object({ id: SlackId, name: Name.optional(), username: Name.optional() }),
  channel: z.object({ id: SlackId, name: Name.optional() }).optional(),
  container: z
    .object({ channel_id: SlackId.optional(), message_ts: Ts.optional(), thread_ts: Ts.optional() })
    .optional(),
  message: z.object({ ts: Ts, thread_ts: Ts.optional() }).optional(),
  actions: z
    .array(
      z.object({ action_id: z.string().max(255), value: z.string().max(2000).optional(), action_ts: Ts }),
    )
    .min(1)
    .max(25),
});

/** Button tokens are at most 64 printable ASCII characters (what post() puts on a button). */
const BUTTON_TOKEN = /^[\x20-\x7e]{1,64}$/;

/** A `block_actions` interaction (a button press on a card), as a message carrying the button's token. */
export function normalizeBlockActions(raw: unknown, who: SlackIdentity): Normalized {
  const parsed = BlockActions.safeParse(raw);
  if (!parsed.success) return { kind: 'skip', reason: `malformed ${describeType(raw)} interaction` };
  const press = parsed.data;
  const action = press.actions[0]!;
  const token = action.value;
  if (token === undefined || !BUTTON_TOKEN.test(token))
    return { kind: 'skip', reason: 'button without a token' };
  const chatId = press.channel?.id ?? press.container?.channel_id;
  const cardTs = press.container?.message_ts ?? press.message?.ts;
  if (chatId === undefined) return { kind: 'skip', reason: 'button press outside a channel' };
  const threadTs = press.container?.thread_ts ?? press.message?.thread_ts;
  return {
    kind: 'message',
    message: {
      channelType: who.installation,
      installation: who.installation,
      // The press's own id; the card's id travels in action.platformMessageId.
      platformMessageId: `press:${press.trigger_id ?? action.action_ts}`,
      chat: { id: chatId, isGroup: !chatId.startsWith('D') },
      sender: { id: press.user.id, ...nameOf(press.user), isBot: false },
      threadId: threadTs !== undefined && threadTs !== cardTs ? threadTs : null,
      text: token,
      mentioned: true,
      timestamp: tsToIso(action.action_ts),
      action: { value: token, ...(cardTs !== undefined && { platformMessageId: cardTs }) },
    },
    files: [],
  };
}

/** Slack's "1700000000.000100" (seconds since the epoch) as an ISO time. */
export function tsToIso(ts: string): string {
  const ms = Math.round(Number(ts) * 1000);
  return new Date(Number.isFinite(ms) ? ms : 0).toISOString();
}

/** `<@U123>` or `<@U123|name>` for the bot's user id (validated: letters and digits only). */
function mentionPattern(botUserId: string, flags: '' | 'g'): RegExp {
  return new RegExp(`<@${botUserId.replace(/[^A-Z0-9]/g, '')}(?:\\|[^>]{0,256})?>`, flags);
}

function stripMention(text: string, mention: RegExp): string {
  return text
    .replace(mention, '')
    .replace(/[ \t]{2,}/g, ' ')
    .trim();
}

function nameOf(user: { name?: string; username?: string }): { name?: string } {
  const name = user.name ?? user.username;
  return name === undefined ? {} : { name };
}

function describeType(raw: unknown): string {
  const type = typeof raw === 'object' && raw !== null ? (raw as { type?: unknown }).type : undefined;
  return typeof type === 'string' ? type.slice(0, 32) : 'untyped';
}
