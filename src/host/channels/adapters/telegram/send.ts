// Outbound: one piece → one Telegram message (plain text, so no "can't parse entities" can drop it),
// in its forum topic, as a reply, with an inline keyboard whose callback_data is each button's token.
import { InputFile, type Api } from 'grammy';
import type { InlineKeyboardMarkup, ReactionTypeEmoji } from 'grammy/types';
import { ChannelSendError } from '../../channel.ts';
import type { OutboundPiece } from '../../platform.ts';
import { splitText } from '../../split-text.ts';
import { bounded, type ApiSignal } from './client.ts';
import { isNotModified, toChannelSendError } from './errors.ts';

/** Telegram's limit on a document's caption (a message's text may be 4,096). */
export const MAX_CAPTION = 1_024;
export const MAX_TEXT = 4_096;
const MAX_CALLBACK_DATA_BYTES = 64;
const MAX_BUTTON_LABEL = 64;
/** How long one send may take before it is abandoned as transient (uploads get longer). */
const SEND_TIMEOUT_MS = 30_000;
const UPLOAD_TIMEOUT_MS = 120_000;

export interface Sender {
  api: Api;
  token: string;
  /** Aborted by stop(): nothing in flight outlives the adapter. */
  signal: () => AbortSignal;
}

export async function postPiece(
  sender: Sender,
  piece: OutboundPiece,
): Promise<{ platformMessageId: string }> {
  const chatId = chatIdOf(piece.chatId);
  const common = {
    ...(piece.threadId !== null && { message_thread_id: messageIdOf(piece.threadId, 'thread id') }),
    ...(piece.replyTo !== null && {
      reply_parameters: {
        message_id: messageIdOf(piece.replyTo, 'reply id'),
        allow_sending_without_reply: true,
      },
    }),
    ...(piece.buttons !== undefined &&
      piece.buttons.length > 0 && { reply_markup: keyboardOf(piece.buttons) }),
  };
  if (piece.file !== undefined) {
    if (piece.text.length > MAX_CAPTION) {
      throw new ChannelSendError('too_large', `telegram: a file's caption is over ${MAX_CAPTION} characters`);
    }
    const file = piece.file;
    const sent = await call(sender, 'sendDocument', UPLOAD_TIMEOUT_MS, (signal) =>
      sender.api.sendDocument(
        chatId,
        new InputFile(file.path, file.name),
        { ...common, ...(piece.text !== '' && { caption: piece.text }) },
        signal,
      ),
    );
    return { platformMessageId: String(sent.message_id) };
  }
  const sent = await call(sender, 'sendMessage', SEND_TIMEOUT_MS, (signal) =>
    sender.api.sendMessage(
      chatId,
      textOf(piece),
      { ...common, link_preview_options: { is_disabled: true } },
      signal,
    ),
  );
  return { platformMessageId: String(sent.message_id) };
}

export async function editText(
  sender: Sender,
  chatId: string,
  messageId: string,
  text: string,
): Promise<void> {
  await call(sender, 'editMessageText', SEND_TIMEOUT_MS, async (signal) => {
    try {
      await sender.api.editMessageText(
        chatIdOf(chatId),
        messageIdOf(messageId, 'message id'),
        text,
        {},
        signal,
      );
    } catch (error) {
      // "message is not modified": the text is already what was asked for, so the edit has happened.
      if (!isNotModified(error)) throw error;
    }
  });
}

export async function react(sender: Sender, chatId: string, messageId: string, emoji: string): Promise<void> {
  const reaction: ReactionTypeEmoji = { type: 'emoji', emoji: emoji as ReactionTypeEmoji['emoji'] };
  await call(sender, 'setMessageReaction', SEND_TIMEOUT_MS, (signal) =>
    sender.api.setMessageReaction(
      chatIdOf(chatId),
      messageIdOf(messageId, 'message id'),
      [reaction],
      {},
      signal,
    ),
  );
}

export async function typing(sender: Sender, chatId: string, threadId: string | null): Promise<void> {
  await call(sender, 'sendChatAction', SEND_TIMEOUT_MS, (signal) =>
    sender.api.sendChatAction(
      chatIdOf(chatId),
      'typing',
      threadId === null ? {} : { message_thread_id: messageIdOf(threadId, 'thread id') },
      signal,
    ),
  );
}

/**
 * A message's text. Telegram has no card layout: a card's title and body are the text above its
 * buttons (a card's own text is empty, and Telegram refuses an empty message). A card too long for one
 * message is shortened at a word, marked with "…"; its buttons still decide it.
 */
export function textOf(piece: Pick<OutboundPiece, 'text' | 'card'>): string {
  if (piece.card === undefined) return piece.text;
  const text = [piece.text, piece.card.title, piece.card.body]
    .map((part) => part.trim())
    .filter((part) => part !== '')
    .join('\n\n');
  return text.length <= MAX_TEXT ? text : `${splitText(text, MAX_TEXT - 1)[0]}…`;
}

export function keyboardOf(buttons: { label: string; token: string }[]): InlineKeyboardMarkup {
  return {
    inline_keyboard: buttons.map((button) => {
      const bytes = Buffer.byteLength(button.token, 'utf8');
      if (bytes === 0 || bytes > MAX_CALLBACK_DATA_BYTES || !/^[\x20-\x7e]+$/.test(button.token)) {
        throw new ChannelSendError(
          'invalid_request',
          `telegram: a button token must be 1–${MAX_CALLBACK_DATA_BYTES} printable ASCII bytes`,
        );
      }
      return [{ text: button.label.slice(0, MAX_BUTTON_LABEL) || button.token, callback_data: button.token }];
    }),
  };
}

/** One API call bounded in time and by stop(); its failure as a ChannelSendError without the token. */
async function call<T>(
  sender: Sender,
  action: string,
  timeoutMs: number,
  run: (signal: ApiSignal) => Promise<T>,
): Promise<T> {
  try {
    return await run(bounded(timeoutMs, sender.signal()));
  } catch (error) {
    throw toChannelSendError(error, sender.token, action);
  }
}

function chatIdOf(chatId: string): string {
  if (!/^-?\d{1,20}$/.test(chatId)) throw new ChannelSendError('invalid_request', 'telegram: not a chat id');
  return chatId;
}

function messageIdOf(value: string, what: string): number {
  const n = Number(value);
  if (!/^\d{1,15}$/.test(value) || !Number.isSafeInteger(n)) {
    throw new ChannelSendError('invalid_request', `telegram: not a ${what}`);
  }
  return n;
}
