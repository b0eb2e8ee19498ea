// One update, however it arrived (long polling or webhook): normalize, acknowledge a button press at
// once, fetch the files, hand the message on. Resolves once Warren holds it; a throw means "redeliver".
import type { Api } from 'grammy';
import type { Logger } from '../../../logger.ts';
import type { PlatformEvents } from '../../platform.ts';
import { bounded } from './client.ts';
import { describeError } from './errors.ts';
import { fetchFile } from './files.ts';
import { normalizeUpdate, type BotIdentity, type FileRef } from './normalize.ts';
import type { InboundMessage } from '../../channel.ts';

const ANSWER_TIMEOUT_MS = 10_000;

export interface Receiver {
  installation: string;
  api: Api;
  apiRoot: string;
  token: string;
  maxFileBytes: number;
  log: Logger;
  clock: () => Date;
  bot: BotIdentity;
  events: PlatformEvents;
  /** Aborted by stop(). */
  signal: AbortSignal;
}

export async function receiveUpdate(receiver: Receiver, update: unknown): Promise<void> {
  const { log } = receiver;
  const normalized = normalizeUpdate(update, {
    installation: receiver.installation,
    bot: receiver.bot,
    now: receiver.clock(),
    maxFileBytes: receiver.maxFileBytes,
  });
  const eventId = updateIdOf(update);
  switch (normalized.kind) {
    case 'skip':
      log.debug(
        { installation: receiver.installation, eventId, reason: normalized.reason },
        'telegram update skipped',
      );
      if (normalized.callbackQueryId !== undefined) answerPress(receiver, normalized.callbackQueryId);
      return;
    case 'press':
      // Telegram shows a spinner on the button until the press is answered: answer before anything else.
      answerPress(receiver, normalized.callbackQueryId);
      await receiver.events.message(normalized.message, eventId);
      return;
    case 'message':
      await attachFiles(receiver, normalized.message, normalized.files);
      await receiver.events.message(normalized.message, eventId);
      return;
  }
}

/** The update's id, or undefined when it has none a poller can confirm. */
export function updateIdOf(update: unknown): string | undefined {
  if (typeof update !== 'object' || update === null) return undefined;
  const id = (update as { update_id?: unknown }).update_id;
  return typeof id === 'number' && Number.isSafeInteger(id) && id >= 0 ? String(id) : undefined;
}

function answerPress(receiver: Receiver, callbackQueryId: string): void {
  const signal = bounded(ANSWER_TIMEOUT_MS, receiver.signal);
  receiver.api.answerCallbackQuery(callbackQueryId, {}, signal).catch((error: unknown) => {
    receiver.log.warn(
      { installation: receiver.installation, error: describeError(error, receiver.token) },
      'telegram: a button press was not acknowledged (the button spins until Telegram gives up)',
    );
  });
}

/** Downloads each file within the bound; one that cannot be had is named in the text instead. */
async function attachFiles(receiver: Receiver, message: InboundMessage, files: FileRef[]): Promise<void> {
  const notes: string[] = [];
  for (const ref of files) {
    try {
      const fetched = await fetchFile(ref, {
        api: receiver.api,
        apiRoot: receiver.apiRoot,
        token: receiver.token,
        maxBytes: receiver.maxFileBytes,
        signal: receiver.signal,
      });
      if (fetched.ok) {
        message.attachments.push(fetched.attachment);
        continue;
      }
      receiver.log.warn(
        { installation: receiver.installation, reason: fetched.reason },
        'telegram file skipped',
      );
      notes.push(fetched.note);
    } catch (error) {
      // Stopping: leave the update unconfirmed so it comes again after the restart.
      if (receiver.signal.aborted) throw error;
      receiver.log.warn(
        { installation: receiver.installation, error: describeError(error, receiver.token) },
        'telegram file not downloaded',
      );
      notes.push(`[file not received: ${ref.name}]`);
    }
  }
  if (notes.length > 0) message.text = [message.text, ...notes].filter((part) => part !== '').join('\n');
}
