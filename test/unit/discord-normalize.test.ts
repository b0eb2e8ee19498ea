// Pure normalization of Discord dispatches: what counts as addressed to the bot, what is skipped.
import { describe, expect, test } from 'vitest';
import {
  messageSchema,
  normalizeMessage,
  type DiscordMessage,
} from '../../src/host/channels/adapters/discord/normalize.ts';

const BOT = '100000000000000001';
const context = { installation: 'discord', botUserId: BOT, threadParent: null, clock: () => new Date(0) };

function message(overrides: Record<string, unknown> = {}): DiscordMessage {
  return messageSchema.parse({
    id: '500000000000000001',
    type: 0,
    channel_id: '400000000000000001',
    guild_id: '300000000000000001',
    author: { id: '200000000000000001', username: 'alice' },
    content: 'hello',
    timestamp: '2024-05-01T10:00:00.000+00:00',
    ...overrides,
  });
}

describe('normalizeMessage', () => {
  test('the legacy nickname mention <@!id> counts and is taken out of the text', () => {
    const m = normalizeMessage(message({ content: `hey <@!${BOT}>  there` }), context);
    expect(m).toMatchObject({ mentioned: true, text: 'hey there' });
  });

  test("someone else's mention neither addresses the bot nor is removed", () => {
    const m = normalizeMessage(message({ content: 'hi <@200000000000000002>' }), context);
    expect(m).toMatchObject({ mentioned: false, text: 'hi <@200000000000000002>' });
  });

  test('system messages (joins, pins, thread notices) are skipped', () => {
    expect(normalizeMessage(message({ type: 7 }), context)).toBeNull();
    expect(normalizeMessage(message({ type: 18 }), context)).toBeNull();
  });

  test('a webhook post is a bot sender', () => {
    const m = normalizeMessage(message({ webhook_id: '600000000000000001' }), context);
    expect(m?.sender.isBot).toBe(true);
  });

  test('the nickname in the guild wins over the global and user names', () => {
    const m = normalizeMessage(
      message({
        member: { nick: 'Ali' },
        author: { id: '200000000000000001', username: 'alice', global_name: 'Alice' },
      }),
      context,
    );
    expect(m?.sender.name).toBe('Ali');
  });

  test('the timestamp comes out as ISO, and an unreadable one as the clock', () => {
    expect(normalizeMessage(message(), context)?.timestamp).toBe('2024-05-01T10:00:00.000Z');
    expect(normalizeMessage(message({ timestamp: 'yesterday' }), context)?.timestamp).toBe(
      new Date(0).toISOString(),
    );
  });

  test('oversized and mistyped fields do not parse', () => {
    expect(messageSchema.safeParse({ ...message(), content: 'x'.repeat(8001) }).success).toBe(false);
    expect(messageSchema.safeParse({ ...message(), id: '../../etc' }).success).toBe(false);
    expect(
      messageSchema.safeParse({ ...message(), attachments: [{ id: '1', filename: '', size: 1, url: 'x' }] })
        .success,
    ).toBe(false);
  });
});
