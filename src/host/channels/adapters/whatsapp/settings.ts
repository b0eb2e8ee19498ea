// What an installation row's settings may say about a WhatsApp Cloud API number (validated; unknown keys
// refused). `warren channels add --set phoneNumberId=…` hands digits over as a number: taken when exact.
import { z } from 'zod';

/** Where Meta serves the bytes of a media file (the URL `GET /{media-id}` answers with). */
export const DEFAULT_MEDIA_ORIGINS = ['https://lookaside.fbsbx.com'];

const origin = z
  .url({ protocol: /^https?$/ })
  .transform((url) => new URL(url).origin)
  .describe('an http(s) origin');

export const whatsappSettingsSchema = z
  .object({
    mode: z.literal('cloud').default('cloud'),
    /** The business phone number's id in the Graph API (not the phone number itself). */
    phoneNumberId: z.union(
      [
        z.string().regex(/^\d{1,32}$/, 'phoneNumberId is digits (the id Meta shows, not the number)'),
        z
          .number()
          .int()
          .nonnegative()
          .refine(Number.isSafeInteger, 'phoneNumberId is too long to pass as a number: quote it in config')
          .transform(String),
      ],
      {
        error: (issue) =>
          issue.input === undefined ? 'phoneNumberId is required (--set phoneNumberId=…)' : undefined,
      },
    ),
    /** The Graph API version in every path. */
    apiVersion: z
      .string()
      .regex(/^v\d{1,3}\.\d{1,2}$/, 'apiVersion is like v21.0')
      .default('v21.0'),
    /**
     * Origins media files may be downloaded from, with the access token, besides the API's own. A comma
     * separated list works too (from `--set`).
     */
    mediaOrigins: z
      .preprocess(
        (value) =>
          typeof value === 'string'
            ? value
                .split(',')
                .map((s) => s.trim())
                .filter(Boolean)
            : value,
        z.array(origin).max(10),
      )
      .default(DEFAULT_MEDIA_ORIGINS),
    /** How often a Graph API call proves the token still works (0: never). Silence alone is healthy. */
    healthCheckSeconds: z.number().int().min(0).max(86_400).default(300),
  })
  .strict();

export type WhatsAppSettings = z.infer<typeof whatsappSettingsSchema>;

export function parseWhatsAppSettings(settings: Record<string, unknown>): WhatsAppSettings {
  const parsed = whatsappSettingsSchema.safeParse(settings);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw new Error(
    `whatsapp settings: ${issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'invalid'}`,
  );
}
