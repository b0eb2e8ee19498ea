// Outbound: one piece → one Cloud API message (`POST /{phone-number-id}/messages`): plain text, a
// reply (context.message_id), a card as reply buttons (≤ 3) or a list (≤ 10), a file by media id, or
// a reaction. Each button's id is its token; the machinery maps a press back to the option's value.
import { ChannelSendError } from '../../channel.ts';
import type { OutboundPiece } from '../../platform.ts';
import { splitText } from '../../split-text.ts';
import { graphCall, type GraphClient } from './graph.ts';
import { uploadMedia } from './media.ts';

export const MAX_TEXT = 4_096;
export const MAX_BUTTONS = 3;
const MAX_LIST_ROWS = 10;
const MAX_BUTTON_TITLE = 20;
const MAX_ROW_TITLE = 24;
const MAX_ROW_DESCRIPTION = 72;
const MAX_HEADER = 60;
const MAX_BODY = 1_024;
const MAX_CAPTION = 1_024;
const SEND_TIMEOUT_MS = 30_000;
const TYPING_TIMEOUT_MS = 10_000;

export interface Sender {
  graph: GraphClient;
  phoneNumberId: string;
}

type Button = NonNullable<OutboundPiece['buttons']>[number];

export async function postPiece(
  sender: Sender,
  piece: OutboundPiece,
): Promise<{ platformMessageId: string }> {
  const context = piece.replyTo !== null ? { context: { message_id: piece.replyTo } } : {};
  if (piece.file !== undefined) {
    if (piece.text.length > MAX_CAPTION) {
      throw new ChannelSendError('too_large', `whatsapp: a file's caption is over ${MAX_CAPTION} characters`);
    }
    const media = await uploadMedia(sender.graph, sender.phoneNumberId, piece.file);
    const payload = piece.text.trim() !== '' ? { ...media.payload, caption: piece.text } : media.payload;
    return send(sender, piece.chatId, { type: media.type, [media.type]: payload, ...context });
  }
  const buttons = piece.buttons ?? [];
  if (buttons.length === 0) return send(sender, piece.chatId, textMessage(piece.text, context));

  const title = piece.card?.title ?? '';
  let body = [piece.text, piece.card?.body].filter((s) => s !== undefined && s.trim() !== '').join('\n\n');
  if (buttons.length > MAX_LIST_ROWS) {
    // More options than any WhatsApp message carries: numbered text (a reply "2" reaches the agent).
    const numbered = buttons.map((b, i) => `${i + 1}. ${b.label}`).join('\n');
    const text = [title, body, numbered].filter(Boolean).join('\n\n');
    return postTexts(sender, piece.chatId, text, context);
  }
  let replyContext = context;
  if (body.length > MAX_BODY) {
    // Too long for an interactive body: the whole text goes first, nothing cut, the choice after it.
    await postTexts(sender, piece.chatId, [title, body].filter(Boolean).join('\n\n'), context);
    body = title !== '' ? `Choose: ${title}` : 'Choose:';
    replyContext = {};
  }
  const interactive = {
    ...(title !== '' ? { header: { type: 'text', text: cut(title, MAX_HEADER) } } : {}),
    body: { text: cut(body || title || 'Choose:', MAX_BODY) },
    ...(buttons.length <= MAX_BUTTONS ? buttonAction(buttons) : listAction(buttons)),
  };
  return send(sender, piece.chatId, { type: 'interactive', interactive, ...replyContext });
}

export async function react(sender: Sender, chatId: string, messageId: string, emoji: string): Promise<void> {
  await send(sender, chatId, { type: 'reaction', reaction: { message_id: messageId, emoji } });
}

/**
 * Marks the person's last message read (blue ticks) and shows "typing…" for up to 25 s, or until the
 * reply: the Cloud API ties the indicator to a message the person sent.
 */
export async function showTyping(sender: Sender, messageId: string): Promise<void> {
  await graphCall(
    sender.graph,
    'POST',
    `${sender.phoneNumberId}/messages`,
    {
      messaging_product: 'whatsapp',
      status: 'read',
      message_id: messageId,
      typing_indicator: { type: 'text' },
    },
    'typing',
    TYPING_TIMEOUT_MS,
  );
}

function buttonAction(buttons: Button[]) {
  return {
    type: 'button',
    action: {
      buttons: buttons.map((b) => ({
        type: 'reply',
        reply: { id: b.token, title: cut(b.label, MAX_BUTTON_TITLE) },
      })),
    },
  };
}

/** 4–10 options: a list message, each row's title cut to 24 and the whole label as its description. */
function listAction(buttons: Button[]) {
  return {
    type: 'list',
    action: {
      button: 'Choose',
      sections: [
        {
          rows: buttons.map((b) => ({
            id: b.token,
            title: cut(b.label, MAX_ROW_TITLE),
            ...([...b.label].length > MAX_ROW_TITLE
              ? { description: cut(b.label, MAX_ROW_DESCRIPTION) }
              : {}),
          })),
        },
      ],
    },
  };
}

const textMessage = (text: string, context: object) => ({
  type: 'text',
  text: { body: text, preview_url: false },
  ...context,
});

/** Text that may exceed one message (a card's long body): in pieces; the first answers `context`. */
async function postTexts(sender: Sender, chatId: string, text: string, context: object) {
  let first: { platformMessageId: string } | undefined;
  for (const piece of splitText(text, MAX_TEXT)) {
    const sent = await send(sender, chatId, textMessage(piece, first ? {} : context));
    first ??= sent;
  }
  return first ?? send(sender, chatId, textMessage('…', context));
}

async function send(sender: Sender, to: string, message: Record<string, unknown>) {
  if (!/^\d{1,32}$/.test(to))
    throw new ChannelSendError('invalid_request', `whatsapp: "${to.slice(0, 40)}" is not a WhatsApp id`);
  const answer = await graphCall(
    sender.graph,
    'POST',
    `${sender.phoneNumberId}/messages`,
    { messaging_product: 'whatsapp', recipient_type: 'individual', to, ...message },
    'send',
    SEND_TIMEOUT_MS,
  );
  const id = (answer.messages as { id?: unknown }[] | undefined)?.[0]?.id;
  if (typeof id !== 'string')
    throw new ChannelSendError('unknown', 'whatsapp send: no message id in the answer');
  return { platformMessageId: id };
}

/** At most `max` characters (code points), the last an ellipsis when cut. */
export function cut(text: string, max: number): string {
  const chars = [...text];
  return chars.length <= max ? text : `${chars.slice(0, max - 1).join('')}…`;
}
