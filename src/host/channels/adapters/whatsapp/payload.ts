// The webhook body Meta posts (a `whatsapp_business_account` notification), as far as Warren reads it.
// Validated after the signature check; fields Meta adds later pass, fields Warren reads are checked.
import { z } from 'zod';

const id = z.string().min(1).max(256);

const media = z.looseObject({
  id,
  mime_type: z.string().max(256).optional(),
  sha256: z.string().max(128).optional(),
  caption: z.string().max(4_096).optional(),
  filename: z.string().max(1_024).optional(),
});

export const whatsappMessage = z.looseObject({
  /** The sender's WhatsApp id (their number, digits only). */
  from: z.string().regex(/^\d{1,32}$/),
  id,
  timestamp: z.string().regex(/^\d{1,12}$/),
  type: z.string().max(64),
  text: z.looseObject({ body: z.string().max(65_536) }).optional(),
  context: z.looseObject({ id: id.optional(), from: z.string().max(64).optional() }).optional(),
  interactive: z
    .looseObject({
      type: z.string().max(64),
      button_reply: z.looseObject({ id, title: z.string().max(256) }).optional(),
      list_reply: z.looseObject({ id, title: z.string().max(256) }).optional(),
    })
    .optional(),
  /** A template's quick-reply button: its payload and text. */
  button: z
    .looseObject({ payload: z.string().max(1_024).optional(), text: z.string().max(1_024) })
    .optional(),
  image: media.optional(),
  document: media.optional(),
  audio: media.optional(),
  video: media.optional(),
  sticker: media.optional(),
});
export type WhatsAppMessage = z.infer<typeof whatsappMessage>;

const contact = z.looseObject({
  wa_id: z.string().max(64),
  profile: z.looseObject({ name: z.string().max(256).optional() }).optional(),
});

export const webhookPayload = z.looseObject({
  object: z.string().max(64),
  entry: z
    .array(
      z.looseObject({
        changes: z
          .array(
            z.looseObject({
              field: z.string().max(64),
              value: z.looseObject({
                metadata: z.looseObject({ phone_number_id: z.string().max(64) }).optional(),
                contacts: z.array(contact).max(100).optional(),
                // Each message is checked alone (whatsappMessage): one odd message must not refuse the rest.
                messages: z.array(z.unknown()).max(100).optional(),
                // statuses (sent, delivered, read, failed) are not read.
              }),
            }),
          )
          .max(100),
      }),
    )
    .max(100),
});
export type WebhookPayload = z.infer<typeof webhookPayload>;

/** A media message's file, as the payload names it. */
export interface MediaRef {
  mediaId: string;
  kind: 'image' | 'document' | 'audio' | 'video' | 'sticker';
  mimeType: string;
  sha256?: string;
  filename?: string;
}
