// Inbound messages kept while their approval is pending, as JSON (attachment bytes as base64; the
// adapter-only `raw` is not kept), and turned back into messages to replay.
import type { InboundMessage } from '../channels/channel.ts';

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
