// Email: mail in over IMAP (imapflow: IDLE, a UID cursor kept in the channel's state), parsed by
// mailparser, out over SMTP (nodemailer) as threaded replies. Each sender's address is a direct chat;
// each mail thread (its root Message-ID) a thread. No buttons: cards arrive as numbered text, and a
// reply "1" answers them.
import { Capability } from '../../channel.ts';
import type { AdapterOptions, PlatformAdapter, PlatformEvents } from '../../platform.ts';
import { imapClient, watchMailbox, type MailboxWatch } from './receive.ts';
import { postMail, smtpTransport, type Mailer } from './send.ts';
import { parseEmailSettings } from './settings.ts';
import { createThreads } from './threads.ts';

export { parseEmailSettings, type EmailSettings } from './settings.ts';
export { stripQuotes } from './quotes.ts';

export const EMAIL_CAPABILITIES = Capability.Threads | Capability.Files | Capability.DirectMessages;

const PROBE_TIMEOUT_MS = 20_000;

export function createEmailAdapter(options: AdapterOptions): PlatformAdapter {
  const settings = parseEmailSettings(options.settings);
  const password = options.secret('password');
  const smtpPassword = optionalSecret(options, 'smtpPassword') ?? password;
  const { installation, log } = options;
  const threads = createThreads(options.state);
  const mailer: Mailer = {
    transport: smtpTransport(settings, smtpPassword),
    settings,
    installation,
    threads,
  };
  let watch: MailboxWatch | null = null;

  return {
    platform: 'email',
    capabilities: EMAIL_CAPABILITIES,
    // Mail has no length limit worth splitting at; one mail a second keeps SMTP servers friendly.
    limits: { maxText: 100_000, minIntervalMs: 1_000 },
    start,
    stop,
    post: (piece) => postMail(mailer, piece),
    probe,
  };

  async function start(events: PlatformEvents): Promise<void> {
    if (watch !== null) await stop();
    watch = await watchMailbox({
      installation,
      settings,
      password,
      state: options.state,
      threads,
      maxFileBytes: options.maxInboundFileBytes,
      log,
      clock: options.clock,
      events,
    });
    events.alive();
  }

  async function stop(): Promise<void> {
    const current = watch;
    watch = null;
    if (current === null) return;
    await current.stop();
    log.info({ installation }, 'email stopped');
  }

  /** Logs in to both servers: the address is the "bot name". */
  async function probe(): Promise<{ botName: string }> {
    const client = imapClient(settings, password);
    client.on('error', () => undefined);
    try {
      await withTimeout(client.connect(), 'imap login');
      await client.logout();
    } finally {
      client.close();
    }
    await withTimeout(mailer.transport.verify(), 'smtp login');
    return { botName: settings.address };
  }
}

function optionalSecret(options: AdapterOptions, role: string): string | undefined {
  try {
    return options.secret(role);
  } catch {
    return undefined;
  }
}

async function withTimeout<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out`)), PROBE_TIMEOUT_MS);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
