// Posting to Discord over REST: one piece per call (text, buttons, or a multipart file upload), edits,
// reactions and the typing indicator. Posts go to the thread channel when there is one: in Discord a
// thread is a channel of its own.
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { ActionRowBuilder, ButtonBuilder, ButtonStyle, Routes, type REST } from 'discord.js';
import { ChannelSendError } from '../../channel.ts';
import type { OutboundPiece } from '../../platform.ts';

/** Discord's own bounds on message components. */
const BUTTONS_PER_ROW = 5;
const MAX_ROWS = 5;
const MAX_LABEL = 80;
const MAX_EMBED_TITLE = 256;
const MAX_EMBED_DESCRIPTION = 4096;

export interface Sender {
  post(piece: OutboundPiece): Promise<{ platformMessageId: string }>;
  edit(channelId: string, messageId: string, text: string): Promise<void>;
  react(channelId: string, messageId: string, emoji: string): Promise<void>;
  typing(channelId: string): Promise<void>;
}

/** `call` runs one REST request with an abort signal the adapter controls (stop() aborts them). */
export type RestCall = <T>(what: string, request: (signal: AbortSignal) => Promise<T>) => Promise<T>;

export function createSender(rest: REST, call: RestCall): Sender {
  return {
    async post(piece) {
      const channelId = piece.threadId ?? piece.chatId;
      const body = {
        content: piece.text,
        // Agents' text must not ping @everyone or roles; a reply still notifies its author.
        allowed_mentions: { parse: [], replied_user: true },
        ...(piece.replyTo
          ? { message_reference: { message_id: piece.replyTo, fail_if_not_exists: false } }
          : {}),
        ...(piece.card ? { embeds: [cardEmbed(piece.card)] } : {}),
        ...(piece.buttons?.length ? { components: buttonRows(piece.buttons) } : {}),
        // Posted again after an answer was lost, the piece carries the same nonce: Discord returns the
        // message it already made instead of making a second one.
        ...(piece.nonce ? { nonce: piece.nonce, enforce_nonce: true } : {}),
      };
      const files = piece.file ? [await fileOf(piece.file)] : undefined;
      const created = await call('post', (signal) =>
        rest.post(Routes.channelMessages(channelId), { body, files, signal }),
      );
      const id = (created as { id?: unknown } | null)?.id;
      if (typeof id !== 'string')
        throw new ChannelSendError('unknown', 'post: Discord answered without a message id');
      return { platformMessageId: id };
    },
    async edit(channelId, messageId, text) {
      await call('edit', (signal) =>
        rest.patch(Routes.channelMessage(channelId, messageId), {
          // An edit is text only: a card's embed and buttons go (a decided card is no longer pressable).
          body: { content: text, embeds: [], components: [], allowed_mentions: { parse: [] } },
          signal,
        }),
      );
    },
    async react(channelId, messageId, emoji) {
      await call('react', (signal) =>
        rest.put(Routes.channelMessageOwnReaction(channelId, messageId, encodeURIComponent(emoji)), {
          signal,
        }),
      );
    },
    async typing(channelId) {
      await call('typing', (signal) => rest.post(Routes.channelTyping(channelId), { signal }));
    },
  };
}

/**
 * A card's title and body as an embed, Discord's own card: the piece's text may be empty (approval cards
 * are all title and body). Embeds cap the description at 4,096 characters, more than a card's body holds
 * in practice; a longer one is cut, and says so.
 */
export function cardEmbed(card: NonNullable<OutboundPiece['card']>): {
  title?: string;
  description?: string;
} {
  const title = truncate(card.title.trim(), MAX_EMBED_TITLE);
  const body = card.body.trim();
  const description =
    body.length <= MAX_EMBED_DESCRIPTION ? body : `${body.slice(0, MAX_EMBED_DESCRIPTION - 12)}… (cut)`;
  return { ...(title ? { title } : {}), ...(description ? { description } : {}) };
}

/** Buttons in rows of five; the token is the button's custom_id and comes back on a press. */
export function buttonRows(buttons: NonNullable<OutboundPiece['buttons']>): unknown[] {
  if (buttons.length > BUTTONS_PER_ROW * MAX_ROWS) {
    throw new ChannelSendError(
      'invalid_request',
      `a Discord message holds at most 25 buttons, not ${buttons.length}`,
    );
  }
  const rows: unknown[] = [];
  try {
    for (let i = 0; i < buttons.length; i += BUTTONS_PER_ROW)
      rows.push(buttonRow(buttons.slice(i, i + BUTTONS_PER_ROW)));
  } catch (err) {
    throw new ChannelSendError('invalid_request', `buttons refused: ${(err as Error).message}`);
  }
  return rows;
}

function buttonRow(buttons: NonNullable<OutboundPiece['buttons']>): unknown {
  const row = new ActionRowBuilder<ButtonBuilder>();
  for (const button of buttons) {
    row.addComponents(
      new ButtonBuilder()
        .setCustomId(button.token)
        .setLabel(truncate(button.label.trim() || button.token, MAX_LABEL))
        .setStyle(ButtonStyle.Secondary),
    );
  }
  return row.toJSON();
}

async function fileOf(file: { name: string; path: string }): Promise<{ name: string; data: Buffer }> {
  try {
    return { name: basename(file.name), data: await readFile(file.path) };
  } catch (err) {
    throw new ChannelSendError(
      'invalid_request',
      `file ${basename(file.name)} cannot be read: ${(err as Error).message}`,
    );
  }
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
