// What an installation row's settings may say about a Telegram bot (validated; unknown keys refused).
import { z } from 'zod';

export const telegramSettingsSchema = z
  .object({
    /** 'polling' (default): getUpdates from here. 'webhook': Telegram posts to the adapter's `http` app. */
    mode: z.enum(['polling', 'webhook']).default('polling'),
    /** Long-poll wait per getUpdates; the watchdog's staleness bound must exceed it. */
    pollTimeoutSeconds: z.number().int().min(0).max(50).default(25),
    /** Webhook mode: the public https URL Telegram posts to (where the lead mounts `http`, + '/webhook'). */
    webhookUrl: z.url({ protocol: /^https?$/ }).optional(),
    /** Webhook mode: how often getWebhookInfo proves the link while no update arrives. */
    webhookCheckSeconds: z.number().int().min(5).max(3_600).default(60),
  })
  .strict()
  .refine((s) => s.mode !== 'webhook' || s.webhookUrl !== undefined, {
    message: 'webhook mode needs webhookUrl',
    path: ['webhookUrl'],
  });

export type TelegramSettings = z.infer<typeof telegramSettingsSchema>;

export function parseTelegramSettings(settings: Record<string, unknown>): TelegramSettings {
  const parsed = telegramSettingsSchema.safeParse(settings);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw new Error(
    `telegram settings: ${issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'invalid'}`,
  );
}
