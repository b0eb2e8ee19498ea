// Posting, editing and "typing…" through the Bot Connector REST API of the conversation's service URL:
// one request each, the bot token in the Authorization header, every failure a ChannelSendError.
// A reply in a channel thread goes to the thread's conversation id (`…;messageid=<root>`).
import { ChannelSendError } from '../../channel.ts';
import type { OutboundPiece } from '../../platform.ts';
import type { BotToken } from './bot-token.ts';
import { renderPiece } from './card.ts';
import type { ServiceUrls } from './conversations.ts';
import { errorForResponse, errorForThrow } from './errors.ts';
import { threadConversationId } from './normalize.ts';
import { deadline } from '../../deadline.ts';

export interface SendDeps {
  token: BotToken;
  serviceUrls: ServiceUrls;
  timeoutMs: number;
  clock: () => Date;
  signal: () => AbortSignal;
}

const MAX_ANSWER_BYTES = 64 * 1024;

export async function postPiece(
  deps: SendDeps,
  piece: OutboundPiece,
): Promise<{ platformMessageId: string }> {
  if (piece.file) {
    // Files reach Teams through OneDrive/SharePoint (Graph), which this channel does not use.
    throw new ChannelSendError('unsupported', 'the teams channel does not send files');
  }
  const activity = renderPiece(piece);
  const answer = await call(deps, 'POST', piece.chatId, piece.threadId, '', activity, 'post activity');
  const id = (answer as { id?: unknown } | undefined)?.id;
  if (typeof id !== 'string' || id === '' || id.length > 512) {
    throw new ChannelSendError('unknown', 'post activity: Teams returned no activity id');
  }
  return { platformMessageId: id };
}

export async function editActivity(
  deps: SendDeps,
  chatId: string,
  threadId: string | null,
  activityId: string,
  text: string,
): Promise<void> {
  // The new activity replaces the old one: a decided card becomes its outcome, without buttons.
  const activity = { ...renderPiece({ text }), id: activityId, attachments: [] };
  await call(
    deps,
    'PUT',
    chatId,
    threadId,
    `/${encodeURIComponent(activityId)}`,
    activity,
    'update activity',
  );
}

export async function sendTyping(deps: SendDeps, chatId: string, threadId: string | null): Promise<void> {
  await call(deps, 'POST', chatId, threadId, '', { type: 'typing' }, 'typing');
}

async function call(
  deps: SendDeps,
  method: 'POST' | 'PUT',
  chatId: string,
  threadId: string | null,
  suffix: string,
  activity: object,
  what: string,
): Promise<unknown> {
  const serviceUrl = deps.serviceUrls.of(chatId);
  if (serviceUrl === undefined) {
    throw new ChannelSendError(
      'not_found',
      `${what}: no service URL known for this conversation (nothing has arrived from Teams yet)`,
    );
  }
  const conversation = encodeURIComponent(threadConversationId(chatId, threadId));
  const url = `${serviceUrl}v3/conversations/${conversation}/activities${suffix}`;
  const token = await deps.token.get();
  let response: Response;
  try {
    response = await fetch(url, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(activity),
      signal: deadline(deps.timeoutMs, deps.signal()),
    });
  } catch (error) {
    throw errorForThrow(what, error);
  }
  if (!response.ok) {
    await response.body?.cancel();
    // A refused token may have been revoked or rotated: the next try fetches a fresh one.
    if (response.status === 401) deps.token.drop();
    throw errorForResponse(what, response, deps.clock());
  }
  const body = await response.text().catch(() => '');
  if (body.length > MAX_ANSWER_BYTES || body.trim() === '') return undefined;
  try {
    return JSON.parse(body) as unknown;
  } catch {
    return undefined;
  }
}
