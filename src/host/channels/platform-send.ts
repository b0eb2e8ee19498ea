// Sending through a platform adapter: a reply in pieces within the platform's limit, the card's options
// as buttons behind short tokens, files one per piece, each piece posted once per delivery (recorded as
// it lands, so a send retried after failing half-way posts only what is missing), short 429s waited out.
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { buttonToken } from '../../db/channel-buttons.ts';
import { recordSentPart, sentPartIds } from '../../db/channel-sent-parts.ts';
import type { Db } from '../../db/connection.ts';
import type { Logger } from '../logger.ts';
import { ChannelSendError, type OutboundMessage, type SendResult } from './channel.ts';
import type { OutboundPiece, PlatformAdapter } from './platform.ts';
import { splitText } from './split-text.ts';

export interface PlatformSendDeps {
  type: string;
  adapter: PlatformAdapter;
  db: Db;
  clock: () => Date;
  log: Logger;
  /** A 429 asking for a longer wait goes back to delivery's own backoff instead of holding the chat. */
  maxRateLimitWaitMs: number;
  /** 429s waited out in a row for one call before the send is given back to delivery. */
  maxRateLimitWaits: number;
}

/** One outbound message through the adapter; throws ChannelSendError as the adapter does. */
export function createPlatformSend(
  deps: PlatformSendDeps,
): (message: OutboundMessage) => Promise<SendResult> {
  const { type, adapter, db, clock, log } = deps;
  return deliver;

  async function deliver(message: OutboundMessage): Promise<SendResult> {
    switch (message.kind) {
      case 'send':
        return postPieces(message.idempotencyKey, piecesOf(message));
      case 'edit': {
        if (!adapter.edit) throw new ChannelSendError('unsupported', `${type} cannot edit messages`);
        const [first, ...more] = splitText(message.text, adapter.limits.maxText);
        await withRateLimitWaits(() =>
          adapter.edit!(message.chatId, message.threadId, message.targetPlatformMessageId, first!),
        );
        const rest = more.map((text) => ({
          chatId: message.chatId,
          threadId: message.threadId,
          replyTo: null,
          text,
        }));
        if (rest.length > 0) await postPieces(message.idempotencyKey, rest);
        return { platformMessageId: message.targetPlatformMessageId };
      }
      case 'react':
        if (!adapter.react) throw new ChannelSendError('unsupported', `${type} has no reactions`);
        await withRateLimitWaits(() =>
          adapter.react!(message.chatId, message.targetPlatformMessageId, message.emoji),
        );
        return { platformMessageId: null };
    }
  }

  /** Text in pieces within the limit, the card's buttons under the last, then one piece per file. */
  function piecesOf(message: Extract<OutboundMessage, { kind: 'send' }>): OutboundPiece[] {
    const base = { chatId: message.chatId, threadId: message.threadId };
    const texts =
      message.text.trim() === '' && !message.card ? [] : splitText(message.text, adapter.limits.maxText);
    const pieces: OutboundPiece[] = texts.map((text, i) => ({
      ...base,
      replyTo: i === 0 ? message.inReplyTo : null,
      text,
    }));
    if (message.card) {
      const now = clock().toISOString();
      const buttons = message.card.options.map((o) => ({
        label: o.label,
        token: buttonToken(db, o.value, now),
      }));
      pieces[pieces.length - 1] = { ...pieces[pieces.length - 1]!, buttons, card: message.card };
    }
    for (const file of message.files) {
      pieces.push({ ...base, replyTo: pieces.length === 0 ? message.inReplyTo : null, text: '', file });
    }
    return pieces;
  }

  /**
   * Posts the pieces not yet posted under this key, recording each as it lands. The result is the card's
   * message when there is one (card updates edit it), else the first piece.
   */
  async function postPieces(key: string, pieces: OutboundPiece[]): Promise<SendResult> {
    const posted = sentPartIds(db, key);
    const ids: string[] = [];
    for (const [part, piece] of pieces.entries()) {
      let id = posted.get(part);
      if (id === undefined) {
        const nonce = createHash('sha256').update(`${key}\u0000${part}`).digest('base64url').slice(0, 25);
        id = (await withRateLimitWaits(() => adapter.post({ ...piece, nonce }))).platformMessageId;
        recordSentPart(db, key, part, id, clock().toISOString());
      }
      ids.push(id);
    }
    const card = pieces.findIndex((p) => p.buttons);
    return { platformMessageId: ids[card >= 0 ? card : 0] ?? null };
  }

  /** Runs a platform call, waiting out short 429s (the chat's line waits with it); longer ones go back. */
  async function withRateLimitWaits<T>(call: () => Promise<T>): Promise<T> {
    for (let waits = 0; ; waits++) {
      try {
        return await call();
      } catch (err) {
        const limited = err instanceof ChannelSendError && err.code === 'rate_limited';
        const wait = limited ? (err.retryAfterMs ?? 1_000) : Infinity;
        if (wait > deps.maxRateLimitWaitMs || waits >= deps.maxRateLimitWaits) throw err;
        log.info({ waitMs: wait }, 'rate limited by the platform; waiting');
        await sleep(wait);
      }
    }
  }
}
