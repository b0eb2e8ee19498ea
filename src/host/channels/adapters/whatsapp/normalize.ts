// A verified webhook payload → the messages Warren takes in. Pure: the media bytes are fetched later
// (media.ts). Every chat is a direct chat with one person (the Cloud API has no group chats here): the
// chat id and the sender id are both the person's WhatsApp id, taken from the signed payload.
import type { InboundMessage } from '../../channel.ts';
import { whatsappMessage, type MediaRef, type WebhookPayload, type WhatsAppMessage } from './payload.ts';

export interface Normalized {
  message: Omit<InboundMessage, 'attachments'>;
  media?: MediaRef;
}

export interface NormalizeResult {
  messages: Normalized[];
  /** Messages left out because their shape was not understood (logged by the caller). */
  invalid: number;
}

const MEDIA_KINDS = ['image', 'document', 'audio', 'video', 'sticker'] as const;

export function normalizePayload(
  payload: WebhookPayload,
  target: { installation: string; phoneNumberId: string },
): NormalizeResult {
  const messages: Normalized[] = [];
  let invalid = 0;
  if (payload.object !== 'whatsapp_business_account') return { messages, invalid };
  for (const entry of payload.entry) {
    for (const change of entry.changes) {
      if (change.field !== 'messages') continue;
      const { value } = change;
      // One app can serve several numbers: each installation takes its own number's messages only.
      if (value.metadata?.phone_number_id !== target.phoneNumberId) continue;
      const names = new Map(value.contacts?.map((c) => [c.wa_id, c.profile?.name]) ?? []);
      for (const raw of value.messages ?? []) {
        const parsed = whatsappMessage.safeParse(raw);
        if (!parsed.success) {
          invalid += 1;
          continue;
        }
        const normalized = normalizeMessage(parsed.data, names.get(parsed.data.from), target.installation);
        if (normalized) messages.push(normalized);
      }
    }
  }
  return { messages, invalid };
}

function normalizeMessage(
  m: WhatsAppMessage,
  name: string | undefined,
  installation: string,
): Normalized | undefined {
  const base: Omit<InboundMessage, 'attachments'> = {
    channelType: installation,
    installation,
    platformMessageId: m.id,
    chat: { id: m.from, ...(name ? { name } : {}), isGroup: false },
    sender: { id: m.from, ...(name ? { name } : {}) },
    threadId: null,
    text: '',
    mentioned: true,
    timestamp: new Date(Number(m.timestamp) * 1000).toISOString(),
    ...(m.context?.id
      ? { replyTo: { platformMessageId: m.context.id, text: '', sender: m.context.from ?? '' } }
      : {}),
  };
  switch (m.type) {
    case 'text':
      return { message: { ...base, text: m.text?.body ?? '' } };
    case 'interactive': {
      const reply = m.interactive?.button_reply ?? m.interactive?.list_reply;
      if (!reply) return { message: { ...base, text: `[${m.interactive?.type ?? 'interactive'} message]` } };
      // The id is the token Warren put on the button; the machinery turns it into the option's value.
      return {
        message: {
          ...base,
          text: reply.title,
          action: { value: reply.id, ...(m.context?.id ? { platformMessageId: m.context.id } : {}) },
        },
      };
    }
    case 'button':
      return { message: { ...base, text: m.button?.text ?? '' } };
    case 'reaction':
      // A reaction to one of the bot's messages: nothing for the agent to answer.
      return undefined;
    default: {
      const kind = MEDIA_KINDS.find((k) => k === m.type);
      const file = kind ? m[kind] : undefined;
      if (!kind || !file)
        return { message: { ...base, text: `[a ${m.type.slice(0, 32)} message, which Warren cannot read]` } };
      return {
        message: { ...base, text: file.caption ?? '' },
        media: {
          mediaId: file.id,
          kind,
          mimeType: file.mime_type ?? 'application/octet-stream',
          ...(file.sha256 ? { sha256: file.sha256 } : {}),
          ...(file.filename ? { filename: file.filename } : {}),
        },
      };
    }
  }
}
