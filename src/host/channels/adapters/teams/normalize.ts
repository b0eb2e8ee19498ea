// Teams activities → Warren's inbound shape, as pure functions of the (verified, still hostile) activity
// and the installation. Every field is validated with bounded lengths first; what does not fit is skipped.
import { z } from 'zod';
import type { InboundMessage } from '../../channel.ts';

const Id = z.string().min(1).max(512);
const Name = z.string().max(512);
/** Teams caps a message near 28 KB; HTML markup can make the wire text longer. */
const MAX_INBOUND_TEXT = 200_000;

const Account = z.object({ id: Id, name: Name.optional(), aadObjectId: z.string().max(64).optional() });

export const Activity = z.object({
  type: z.string().min(1).max(64),
  id: Id,
  name: z.string().max(128).optional(),
  timestamp: z.string().max(64).optional(),
  serviceUrl: z.url({ protocol: /^https?$/ }).max(2048),
  channelId: z.string().max(64).optional(),
  from: Account,
  recipient: Account,
  conversation: z.object({
    // Bounded so the state key of its service URL (conversations.ts) stays under 512 characters.
    id: z.string().min(1).max(480),
    conversationType: z.string().max(32).optional(),
    isGroup: z.boolean().optional(),
    tenantId: z.string().max(64).optional(),
    name: Name.optional(),
  }),
  text: z.string().max(MAX_INBOUND_TEXT).optional(),
  replyToId: Id.optional(),
  value: z.unknown().optional(),
  entities: z
    .array(
      z.looseObject({
        type: z.string().max(64),
        text: z.string().max(1024).optional(),
        mentioned: z.object({ id: Id, name: Name.optional() }).optional(),
      }),
    )
    .max(100)
    .optional(),
  attachments: z
    .array(z.looseObject({ contentType: z.string().max(255), name: Name.optional() }))
    .max(50)
    .optional(),
});
export type Activity = z.infer<typeof Activity>;

export type Normalized = { kind: 'message'; message: InboundMessage } | { kind: 'skip'; reason: string };

/** Button tokens are at most 64 printable ASCII characters (what post() puts on a button). */
const BUTTON_TOKEN = /^[\x20-\x7e]{1,64}$/;
const THREAD_MARK = ';messageid=';

/** A channel conversation id names its thread: `19:…@thread.tacv2;messageid=1700000000000`. */
export function splitConversationId(id: string): { chatId: string; threadId: string | null } {
  const at = id.indexOf(THREAD_MARK);
  if (at < 0) return { chatId: id, threadId: null };
  const thread = id.slice(at + THREAD_MARK.length);
  return { chatId: id.slice(0, at), threadId: thread === '' ? null : thread };
}

export function threadConversationId(chatId: string, threadId: string | null): string {
  return threadId === null ? chatId : `${chatId}${THREAD_MARK}${threadId}`;
}

/** A `message` activity (text, or an Action.Submit's value) or an `adaptiveCard/action` invoke. */
export function normalizeActivity(activity: Activity, installation: string, now: Date): Normalized {
  if (activity.from.id === activity.recipient.id) return { kind: 'skip', reason: "the bot's own activity" };
  const isInvoke = activity.type === 'invoke';
  if (isInvoke && activity.name !== 'adaptiveCard/action') {
    return { kind: 'skip', reason: `invoke ${activity.name ?? '(unnamed)'}` };
  }
  if (!isInvoke && activity.type !== 'message') return { kind: 'skip', reason: `${activity.type} activity` };

  const { chatId, threadId: fromId } = splitConversationId(activity.conversation.id);
  const type = activity.conversation.conversationType;
  const isPersonal = type === 'personal' || (type === undefined && activity.conversation.isGroup !== true);
  // A reply in a channel thread names the thread's root in its conversation id, else in replyToId.
  const threadId = fromId ?? (type === 'channel' ? (activity.replyToId ?? null) : null);
  const sender = {
    id: activity.from.aadObjectId ?? activity.from.id,
    ...(activity.from.name !== undefined && { name: activity.from.name }),
    isBot: activity.from.id.startsWith('28:'),
  };
  const base = {
    channelType: installation,
    installation,
    chat: {
      id: chatId,
      isGroup: !isPersonal,
      ...(activity.conversation.name !== undefined && { name: activity.conversation.name }),
    },
    sender,
    threadId,
    attachments: [],
    timestamp: isoTime(activity.timestamp, now),
  };

  const token = submittedToken(
    isInvoke ? (activity.value as { action?: { data?: unknown } })?.action?.data : activity.value,
  );
  if (token !== undefined) {
    return {
      kind: 'message',
      message: {
        ...base,
        // The press's own id; the card's id travels in action.platformMessageId.
        platformMessageId: `press:${activity.id}`,
        text: token,
        mentioned: true,
        action: {
          value: token,
          ...(activity.replyToId !== undefined && { platformMessageId: activity.replyToId }),
        },
      },
    };
  }
  if (isInvoke) return { kind: 'skip', reason: 'card action without a token' };

  const botMentions = (activity.entities ?? []).filter(
    (e) => e.type === 'mention' && e.mentioned?.id === activity.recipient.id,
  );
  const files = (activity.attachments ?? []).filter((a) => a.contentType !== 'text/html');
  const notes = files.map(
    (file) => `[${file.name ?? file.contentType} was attached; this channel does not download Teams files]`,
  );
  const text = [stripMentions(activity.text ?? '', botMentions), ...notes]
    .filter((part) => part !== '')
    .join('\n');
  if (text === '') return { kind: 'skip', reason: 'message without text' };
  return {
    kind: 'message',
    message: {
      ...base,
      platformMessageId: activity.id,
      text,
      mentioned: isPersonal || botMentions.length > 0,
    },
  };
}

/** The token of an Action.Submit on one of Warren's cards: its data is `{ token }`. */
function submittedToken(data: unknown): string | undefined {
  if (typeof data !== 'object' || data === null) return undefined;
  const token = (data as { token?: unknown }).token;
  return typeof token === 'string' && BUTTON_TOKEN.test(token) ? token : undefined;
}

/** The bot's `<at>Name</at>` removed (each mention entity names its exact text), spaces tidied. */
function stripMentions(text: string, mentions: { text?: string | undefined }[]): string {
  let stripped = text;
  for (const mention of mentions) {
    if (mention.text) stripped = stripped.split(mention.text).join('');
  }
  return stripped
    .replace(/[ \t]{2,}/g, ' ')
    .replace(/&nbsp;/g, ' ')
    .trim();
}

function isoTime(timestamp: string | undefined, now: Date): string {
  const ms = timestamp === undefined ? NaN : Date.parse(timestamp);
  return (Number.isFinite(ms) ? new Date(ms) : now).toISOString();
}
