// Inbound messages kept while their approval is pending, as JSON (attachment bytes as base64; the
// adapter-only `raw` is not kept), turned back into messages once it is decided: replayed into
// routing, or recorded as dropped.
import type { Db } from '../../db/connection.ts';
import { recordDroppedMessage } from '../../db/dropped-messages.ts';
import type { DropReason } from '../../db/enums.ts';
import { listHeldMessages, releaseHeldMessage } from '../../db/held-messages.ts';
import type { InboundMessage } from '../channels/index.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics/index.ts';

type StoredAttachment = Omit<InboundMessage['attachments'][number], 'data'> & { data: string };
export type StoredMessage = Omit<InboundMessage, 'raw' | 'attachments'> & { attachments: StoredAttachment[] };

export function toStored(message: InboundMessage): StoredMessage {
  const { raw: _raw, attachments, ...rest } = message;
  return { ...rest, attachments: attachments.map((a) => ({ ...a, data: a.data.toString('base64') })) };
}

export function fromStored(stored: StoredMessage): InboundMessage {
  return {
    ...stored,
    attachments: stored.attachments.map((a) => ({ ...a, data: Buffer.from(a.data, 'base64') })),
  };
}

export interface ReleaseHeldDeps {
  db: Db;
  clock: () => Date;
  log: Logger;
  /** Routes a held message again, past the dedup claim its first arrival took (the access router). */
  replay?(message: InboundMessage): Promise<unknown>;
  metrics?: Pick<Metrics, 'dropped'>;
}

/**
 * Replays the approval's held messages into routing (`replay`), or records them as dropped with
 * `dropReason`; each once. Returns how many were released by this call.
 */
export async function releaseHeldMessages(
  deps: ReleaseHeldDeps,
  approvalId: string,
  replay: boolean,
  dropReason: DropReason,
): Promise<number> {
  const { db, clock, log } = deps;
  let released = 0;
  for (const held of listHeldMessages(db, approvalId)) {
    const message = fromStored(held.message as StoredMessage);
    if (replay && deps.replay) await deps.replay(message);
    else {
      if (replay) log.warn({ approvalId }, 'no router to replay held messages into; dropped');
      recordDroppedMessage(
        db,
        {
          channelType: message.channelType,
          chatId: message.chat.id,
          senderId: message.sender.id,
          reason: dropReason,
          messageId: message.platformMessageId,
        },
        clock().toISOString(),
      );
      deps.metrics?.dropped(dropReason);
    }
    if (releaseHeldMessage(db, held.id, clock().toISOString())) released++;
  }
  return released;
}
