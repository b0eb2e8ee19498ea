// Pure normalization of Telegram updates: mentions, stripping, topics and files, without a server.
import { describe, expect, test } from 'vitest';
import {
  botMentions,
  normalizeUpdate,
  stripRanges,
  type NormalizeContext,
} from '../../src/host/channels/adapters/telegram/normalize.ts';

const BOT = { id: 99, username: 'warren_bot' };
const context: NormalizeContext = { installation: 'tg', bot: BOT, now: new Date(0), maxFileBytes: 1_000 };
const user = { id: 7, is_bot: false, first_name: 'Ann', last_name: 'Lee' };
const group = { id: -100, type: 'supergroup', title: 'Team' };

function message(fields: Record<string, unknown>) {
  return normalizeUpdate(
    { update_id: 1, message: { message_id: 10, date: 0, chat: group, from: user, ...fields } },
    context,
  );
}

describe('mentions', () => {
  test('@username matches case-insensitively and is stripped with the comma after it', () => {
    const text = '@Warren_Bot, summarise this';
    const ranges = botMentions(text, [{ type: 'mention', offset: 0, length: 11 }], BOT);
    expect(stripRanges(text, ranges)).toBe('summarise this');
  });

  test("another bot's @username is not a mention of this one", () => {
    expect(botMentions('@other_bot hi', [{ type: 'mention', offset: 0, length: 10 }], BOT)).toEqual([]);
  });

  test('a text mention of the bot (no username in the text) counts', () => {
    const result = message({
      text: 'Warren do it',
      entities: [{ type: 'text_mention', offset: 0, length: 6, user: { id: 99 } }],
    });
    expect(result.kind === 'message' && result.message).toMatchObject({ mentioned: true, text: 'do it' });
  });

  test('/command@bot addresses the bot and keeps the command', () => {
    const result = message({
      text: '/status@warren_bot now',
      entities: [{ type: 'bot_command', offset: 0, length: 18 }],
    });
    expect(result.kind === 'message' && result.message).toMatchObject({
      mentioned: true,
      text: '/status now',
    });
  });

  test('offsets count UTF-16 units, as Telegram does, so emoji before a mention do not shift it', () => {
    const text = '😀 @warren_bot hi';
    const ranges = botMentions(text, [{ type: 'mention', offset: 3, length: 11 }], BOT);
    expect(stripRanges(text, ranges)).toBe('😀 hi');
  });

  test('an entity reaching past the text is ignored', () => {
    expect(botMentions('@warren_bot', [{ type: 'mention', offset: 5, length: 11 }], BOT)).toEqual([]);
  });
});

describe('messages', () => {
  test('a non-topic reply in a supergroup is not a thread', () => {
    const result = message({
      text: 'x',
      message_thread_id: 5,
      reply_to_message: { message_id: 5, text: 'root' },
    });
    expect(result.kind === 'message' && result.message.threadId).toBeNull();
    expect(result.kind === 'message' && result.message.replyTo?.platformMessageId).toBe('5');
  });

  test('a photo takes the largest size within the limit', () => {
    const photo = [
      { file_id: 's', file_unique_id: 'a', width: 90, height: 90, file_size: 100 },
      { file_id: 'm', file_unique_id: 'b', width: 320, height: 320, file_size: 900 },
      { file_id: 'l', file_unique_id: 'c', width: 1280, height: 1280, file_size: 5_000 },
    ];
    const result = message({ photo, caption: 'look' });
    expect(result.kind === 'message' && result.files).toEqual([
      { fileId: 'm', name: 'photo-10.jpg', type: 'image/jpeg', size: 900 },
    ]);
    expect(result.kind === 'message' && result.message.text).toBe('look');
  });

  test('sender and chat names are put together from their parts', () => {
    const result = message({ text: 'hi' });
    expect(result.kind === 'message' && result.message.sender).toEqual({
      id: '7',
      name: 'Ann Lee',
      isBot: false,
    });
    expect(result.kind === 'message' && result.message.chat).toEqual({
      id: '-100',
      name: 'Team',
      isGroup: true,
    });
  });

  test.each([
    ['a channel post', { chat: { id: -5, type: 'channel' }, text: 'x' }],
    ['a message without a sender', { from: undefined, text: 'x' }],
    ['an id that is not a number', { message_id: '10', text: 'x' }],
    ['an oversized name', { from: { ...user, first_name: 'n'.repeat(300) }, text: 'x' }],
  ])('%s is skipped', (_, fields) => {
    expect(message(fields).kind).toBe('skip');
  });

  test('a press without its card is skipped but still answered', () => {
    const result = normalizeUpdate(
      { update_id: 2, callback_query: { id: 'q', from: user, data: 't' } },
      context,
    );
    expect(result).toMatchObject({ kind: 'skip', callbackQueryId: 'q' });
  });

  test('updates other than messages and presses are skipped', () => {
    expect(normalizeUpdate({ update_id: 3, edited_message: {} }, context).kind).toBe('skip');
    expect(normalizeUpdate('nonsense', context).kind).toBe('skip');
  });
});
