// What an installation row's settings may say about a signed webhook (validated; unknown keys refused).
import { z } from 'zod';

export const webhookSettingsSchema = z
  .object({
    /** The only mode: Standard Webhooks signatures both ways. */
    mode: z.literal('signed').default('signed'),
    /** Where replies are POSTed (the integrator's receiver). */
    callbackUrl: z.url({ protocol: /^https?$/, error: 'callbackUrl must be an http(s) URL' }),
    /** Largest inbound body read; a bigger one is answered 413 unread. */
    maxBodyBytes: z
      .number()
      .int()
      .min(1024)
      .max(16 * 1024 * 1024)
      .default(1024 * 1024),
    /** How long one POST to the callback may take (connect, send, answer) before it counts as failed. */
    timeoutMs: z.number().int().min(500).max(120_000).default(10_000),
  })
  .strict();

export type WebhookSettings = z.infer<typeof webhookSettingsSchema>;

export function parseWebhookSettings(
  installation: string,
  settings: Record<string, unknown>,
): WebhookSettings {
  const parsed = webhookSettingsSchema.safeParse(settings);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw new Error(
    `webhook installation ${installation}: bad settings (${issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'invalid'})`,
  );
}
