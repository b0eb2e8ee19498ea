// The host speaking for itself in a chat: "your message failed", a paused task, an answer to `/link`.
// Sent straight through the channel and recorded in delivery_attempts like any delivery, but never
// written into a session's files, so nothing of it ever reaches an agent.
import { getSession } from '../../db/sessions.ts';
import { readRouting, sessionPaths } from '../sessions/index.ts';
import { channelOf, recordAttempt, sendThrough } from './attempt.ts';
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
}

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
  };
}

async function sendNotice(deps: NoticeDeps, notice: Notice): Promise<boolean> {
  const { to } = notice;
  const { outcome } = await recordAttempt(
    deps,
    {
      sessionId: notice.sessionId,
      messageOutId: `notice:${notice.key}`,
      idempotencyKey: notice.idempotencyKey,
      channelType: to.channelType,
    },
    async () => {
      const channel = channelOf(deps.channels, to.channelType);
      if ('ok' in channel) return channel;
      return sendThrough(channel, {
        kind: 'send',
        idempotencyKey: notice.idempotencyKey,
        chatId: to.chatId,
        threadId: to.threadId,
        text: notice.text,
        inReplyTo: notice.inReplyTo,
        files: [],
      });
    },
  );
  if (!outcome.ok) {
    const logged = {
      sessionId: notice.sessionId,
      channel: to.channelType,
      chat: to.chatId,
      code: outcome.code,
    };
    deps.log.warn({ ...logged, error: outcome.error }, 'the host could not say something');
  }
  return outcome.ok;
}
