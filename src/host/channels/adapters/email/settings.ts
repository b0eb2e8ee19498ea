// What an installation row's settings may say about a mailbox (validated; unknown keys refused).
import { z } from 'zod';

const host = z.string().min(1).max(253);
const port = z.number().int().min(1).max(65_535);

const serverSchema = z
  .object({
    host,
    port,
    /** Implicit TLS from the first byte (IMAPS 993, SMTPS 465). */
    secure: z.boolean(),
    /** The login name when it is not the bot's address. */
    user: z.string().min(1).max(320).optional(),
    /** Without implicit TLS: refuse to log in unless STARTTLS succeeds (turn off only for loopback). */
    requireTLS: z.boolean().default(true),
  })
  .strict();

export const emailSettingsSchema = z
  .object({
    mode: z.literal('imap').default('imap'),
    /** The bot's own address: mail is sent from it, and mail from it is ignored. */
    address: z.email().max(254),
    /** The name shown beside the address on mail the bot sends. */
    fromName: z.string().min(1).max(64).default('Warren'),
    imap: serverSchema,
    smtp: serverSchema,
    /**
     * The receiving server's name in its Authentication-Results headers (e.g. mx.google.com). Set, mail
     * is taken only when that server found it DMARC-aligned with its From; unset, From is believed.
     */
    authservId: z
      .string()
      .regex(/^[A-Za-z0-9.-]{1,253}$/, 'a host name like mx.example.com')
      .optional(),
    /** The folder watched for new mail. */
    mailbox: z.string().min(1).max(256).default('INBOX'),
    /** How often the mailbox is checked (and the link proven) while IDLE brings nothing. */
    keepaliveSeconds: z.number().int().min(1).max(600).default(30),
    /** A mail larger than this is read only this far: its text is kept, its files are named, not taken. */
    maxMessageBytes: z
      .number()
      .int()
      .min(16 * 1024)
      .max(100 * 1024 * 1024)
      .default(25 * 1024 * 1024),
    /** Longest text the agent is given from one mail (after quotes and signature are stripped). */
    maxTextChars: z.number().int().min(100).max(200_000).default(20_000),
    /** Most files taken from one mail; the rest are named in the text. */
    maxAttachments: z.number().int().min(0).max(100).default(10),
  })
  .strict();

export type EmailSettings = z.infer<typeof emailSettingsSchema>;
export type ServerSettings = EmailSettings['imap'];

export function parseEmailSettings(settings: Record<string, unknown>): EmailSettings {
  const parsed = emailSettingsSchema.safeParse(settings);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw new Error(
    `email settings: ${issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'invalid'}`,
  );
}
