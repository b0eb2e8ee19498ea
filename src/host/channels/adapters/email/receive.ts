// Receiving: one IMAP connection per start(). Between passes over new mail (read.ts) the connection
// IDLEs until the server reports new mail or the keep-alive period ends; each answered pass is the
// watchdog's proof of life, and a lost connection is reported as failed (the watchdog restarts us).
import { ImapFlow } from 'imapflow';
import { errorText } from '../../../../shared/error-text.ts';
import { openReader, type ReaderDeps } from './read.ts';
import type { EmailSettings } from './settings.ts';

const CONNECT_TIMEOUT_MS = 15_000;
const SOCKET_TIMEOUT_MS = 5 * 60_000;
const LOGOUT_TIMEOUT_MS = 2_000;

export interface MailboxDeps extends ReaderDeps {
  password: string;
}

export interface MailboxWatch {
  stop(): Promise<void>;
}

export function imapClient(settings: EmailSettings, password: string): ImapFlow {
  const { imap } = settings;
  return new ImapFlow({
    host: imap.host,
    port: imap.port,
    secure: imap.secure,
    ...(!imap.secure && imap.requireTLS && { doSTARTTLS: true }),
    auth: { user: imap.user ?? settings.address, pass: password },
    logger: false,
    disableAutoIdle: true,
    connectionTimeout: CONNECT_TIMEOUT_MS,
    greetingTimeout: CONNECT_TIMEOUT_MS,
    socketTimeout: SOCKET_TIMEOUT_MS,
  });
}

/** Connects, opens the mailbox and reads what is new; resolves once connected, then keeps watching. */
export async function watchMailbox(deps: MailboxDeps): Promise<MailboxWatch> {
  const { settings, log, installation, events } = deps;
  const client = imapClient(settings, deps.password);
  let stopping = false;
  let pending = false;
  let wake: () => void = () => undefined;
  const wakeUp = () => {
    pending = true;
    wake();
  };
  const isStopping = () => stopping;
  client.on('error', (err: unknown) => log.warn({ installation, error: errorText(err) }, 'imap error'));
  client.on('exists', wakeUp);
  client.on('close', wakeUp);

  try {
    await client.connect();
  } catch (err) {
    client.close();
    throw new Error(`imap ${settings.imap.host}:${settings.imap.port}: ${errorText(err)}`, { cause: err });
  }
  let reader;
  try {
    reader = await openReader(client, deps);
    pending = false;
    await reader.pass(isStopping);
  } catch (err) {
    client.close();
    throw new Error(`imap ${settings.mailbox}: ${errorText(err)}`, { cause: err });
  }
  log.info({ installation, mailbox: settings.mailbox }, 'email connected');

  const loop = (async () => {
    while (!stopping) {
      await idleUntilWoken();
      if (stopping) return;
      pending = false;
      await reader.pass(isStopping);
      events.alive();
    }
  })().catch((err: unknown) => {
    if (stopping) return;
    log.warn({ installation, error: errorText(err) }, 'imap connection lost');
    events.failed(new Error(`imap: ${errorText(err)}`));
  });

  return {
    async stop() {
      stopping = true;
      wake();
      await Promise.race([client.logout().catch(() => undefined), sleep(LOGOUT_TIMEOUT_MS)]);
      client.close();
      await Promise.race([loop, sleep(LOGOUT_TIMEOUT_MS)]);
    },
  };

  /** IDLEs until the server reports mail, the keep-alive period ends, or the adapter stops. */
  async function idleUntilWoken(): Promise<void> {
    if (pending || stopping) return;
    let timer: NodeJS.Timeout | undefined;
    const woken = new Promise<void>((resolve) => {
      wake = resolve;
      timer = setTimeout(resolve, settings.keepaliveSeconds * 1000);
    });
    const idling = client.idle().catch((err: unknown) => err);
    await woken;
    clearTimeout(timer);
    wake = () => undefined;
    if (stopping) return;
    // Any command ends IDLE; the NOOP's answer also proves the server is still there.
    await client.noop();
    const ended = await idling;
    if (ended instanceof Error) throw ended;
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());
