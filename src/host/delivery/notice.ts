// The host speaking for itself in a chat: "your message failed", a paused task, an answer to `/link`.
// Sent straight through the channel and recorded in delivery_attempts like any delivery, but never
// written into a session's files, so nothing of it ever reaches an agent.
import { getSession } from '../../db/sessions.ts';
import { readRouting, sessionPaths } from '../sessions/index.ts';
import type { OutboundMessage } from '../channels/index.ts';
import { channelOf, recordAttempt, sendThrough, type SendOutcome } from './attempt.ts';
import type { DeliveryDeps } from './deps.ts';

export interface NoticeTarget {
  channelType: string;
  chatId: string;
  threadId: string | null;
}

/** Sends `text` to a chat outside any session; `key` makes a repeat idempotent where the channel can. */
export type Say = (to: NoticeTarget, text: string, key: string) => Promise<boolean>;

/** Sends `text` to the session's chat; `key` makes repeats idempotent. False when it was not sent. */
export type NotifyUser = (
  sessionId: string,
  key: string,
  text: string,
  inReplyTo: string | null,
) => Promise<boolean>;

interface Notice {
  /** Null: outside any session. */
  sessionId: string | null;
  key: string;
  idempotencyKey: string;
  to: NoticeTarget;
  text: string;
  inReplyTo: string | null;
}

type NoticeDeps = Pick<DeliveryDeps, 'db' | 'dataDir' | 'channels' | 'clock' | 'log'>;

export interface Notices {
  /** A host notice to the session's chat, recorded in delivery_attempts. */
  notifyUser: NotifyUser;
  /** A host notice to a chat outside any session (answers to `/link`), recorded the same way. */
  say: Say;
  /** Any other message from the host to a chat outside a session (approval cards), recorded the same way. */
  send: SendHostMessage;
}

/** Sends `message` through the channel of `channelType`; its idempotency key names the attempt. */
export type SendHostMessage = (channelType: string, message: OutboundMessage) => Promise<SendOutcome>;

export function createNotices(deps: NoticeDeps): Notices {
  return {
    async notifyUser(sessionId, key, text, inReplyTo) {
      const session = getSession(deps.db, sessionId);
      if (!session) return false;
      const routing = readRouting(sessionPaths(deps.dataDir, session.agentGroupId, session.id));
      if (!routing.channelType || !routing.platformId) return false;
      const to = { channelType: routing.channelType, chatId: routing.platformId, threadId: routing.threadId };
      const idempotencyKey = `${sessionId}:notice:${key}`;
      return sendNotice(deps, { sessionId, key, idempotencyKey, to, text, inReplyTo });
    },
    say: (to, text, key) =>
      sendNotice(deps, { sessionId: null, key, idempotencyKey: key, to, text, inReplyTo: null }),
    send: (channelType, message) => sendRecorded(deps, null, message.idempotencyKey, channelType, message),
  };
}

async function sendNotice(deps: NoticeDeps, notice: Notice): Promise<boolean> {
  const { to } = notice;
  const message: OutboundMessage = {
    kind: 'send',
    idempotencyKey: notice.idempotencyKey,
    chatId: to.chatId,
    threadId: to.threadId,
    text: notice.text,
    inReplyTo: notice.inReplyTo,
    files: [],
  };
  const outcome = await sendRecorded(deps, notice.sessionId, notice.key, to.channelType, message);
  return outcome.ok;
}

/** One send of the host's own, recorded in delivery_attempts as `notice:<key>`. */
async function sendRecorded(
  deps: NoticeDeps,
  sessionId: string | null,
  key: string,
  channelType: string,
  message: OutboundMessage,
): Promise<SendOutcome> {
  const attempt = {
    sessionId,
    messageOutId: `notice:${key}`,
    idempotencyKey: message.idempotencyKey,
    channelType,
    chatId: message.chatId,
    threadId: message.threadId,
  };
  const { outcome } = await recordAttempt(deps, attempt, async () => {
    const channel = channelOf(deps.channels, channelType);
    if ('ok' in channel) return channel;
    return sendThrough(channel, message);
  });
  if (!outcome.ok) {
    const logged = { sessionId, channel: channelType, chat: message.chatId, code: outcome.code };
    deps.log.warn({ ...logged, error: outcome.error }, 'the host could not say something');
  }
  return outcome;
}
