// Posting, editing and reacting: one Web API call each (a file: three), every failure a ChannelSendError.
import { WebAPIPlatformError, type WebClient } from '@slack/web-api';
import { ChannelSendError } from '../../channel.ts';
import type { OutboundPiece } from '../../platform.ts';
import { renderPiece } from './blocks.ts';
import { toChannelSendError } from './errors.ts';
import { uploadFile, type FileAccess } from './files.ts';

export interface SendDeps {
  web: () => WebClient;
  files: FileAccess;
  /** Answer a message outside a thread by starting a thread under it (else: in the channel). */
  replyInThread: boolean;
}

export async function postPiece(
  deps: SendDeps,
  piece: OutboundPiece,
): Promise<{ platformMessageId: string }> {
  const threadTs = piece.threadId ?? (deps.replyInThread && isTs(piece.replyTo) ? piece.replyTo : undefined);
  try {
    if (piece.file) return await uploadFile(deps.web(), { ...piece, file: piece.file }, threadTs, deps.files);
    const { text, blocks } = renderPiece(piece);
    const result = await deps.web().chat.postMessage({
      channel: piece.chatId,
      text,
      blocks,
      ...(threadTs !== undefined && { thread_ts: threadTs }),
    });
    if (typeof result.ts !== 'string')
      throw new ChannelSendError('unknown', 'chat.postMessage returned no ts');
    return { platformMessageId: result.ts };
  } catch (error) {
    throw toChannelSendError(error, piece.file ? 'files upload' : 'chat.postMessage');
  }
}

export async function editMessage(deps: SendDeps, chatId: string, ts: string, text: string): Promise<void> {
  // New blocks replace the old ones, so a decided card loses its buttons.
  const rendered = renderPiece({ text });
  try {
    await deps.web().chat.update({ channel: chatId, ts, text: rendered.text, blocks: rendered.blocks });
  } catch (error) {
    throw toChannelSendError(error, 'chat.update');
  }
}

export async function addReaction(deps: SendDeps, chatId: string, ts: string, emoji: string): Promise<void> {
  const name = emojiName(emoji);
  if (name === undefined)
    throw new ChannelSendError('unsupported', `no Slack emoji name for ${emoji.slice(0, 16)}`);
  try {
    await deps.web().reactions.add({ channel: chatId, timestamp: ts, name });
  } catch (error) {
    // Reacting twice is the reaction being there: the retry of a react that reached Slack.
    if (error instanceof WebAPIPlatformError && error.data.error === 'already_reacted') return;
    throw toChannelSendError(error, 'reactions.add');
  }
}

/** Slack names reactions (`thumbsup`, no colons); the emoji agents most often use are mapped. */
const NAMES: Record<string, string> = {
  '👍': 'thumbsup',
  '👎': 'thumbsdown',
  '👀': 'eyes',
  '✅': 'white_check_mark',
  '❌': 'x',
  '🎉': 'tada',
  '❤️': 'heart',
  '❤': 'heart',
  '🙏': 'pray',
  '🤔': 'thinking_face',
  '😂': 'joy',
  '🔥': 'fire',
  '⏳': 'hourglass_flowing_sand',
  '🚀': 'rocket',
  '👋': 'wave',
};

export function emojiName(emoji: string): string | undefined {
  const name = emoji.trim().replace(/^:|:$/g, '');
  if (/^[a-z0-9_+'-]{1,100}$/.test(name)) return name;
  return NAMES[emoji.trim()];
}

function isTs(id: string | null): id is string {
  return id !== null && /^\d{1,12}\.\d{1,9}$/.test(id);
}
