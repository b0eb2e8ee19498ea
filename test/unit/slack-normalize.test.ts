// The Slack adapter's pure parts: event normalization, section splitting with escaping, signatures.
import { describe, expect, test } from 'vitest';
import { escapedChunks, renderPiece } from '../../src/host/channels/adapters/slack/blocks.ts';
import {
  normalizeBlockActions,
  normalizeMessageEvent,
} from '../../src/host/channels/adapters/slack/normalize.ts';
import { emojiName } from '../../src/host/channels/adapters/slack/send.ts';
import { isValidSlackSignature, signSlackRequest } from '../../src/host/channels/adapters/slack/signature.ts';

const who = { installation: 'work', botUserId: 'UBOT', botId: 'BBOT' };
const base = { type: 'message', channel: 'C1', channel_type: 'channel', user: 'U1', ts: '1700000000.000100' };

describe('normalizeMessageEvent', () => {
  test('a mention written with a label is stripped and counts', () => {
    const result = normalizeMessageEvent({ ...base, text: 'hey <@UBOT|warren>  what now' }, who);
    expect(result).toMatchObject({ kind: 'message', message: { text: 'hey what now', mentioned: true } });
  });

  test('an app_mention in a DM channel (no channel_type) is a DM', () => {
    const result = normalizeMessageEvent(
      { ...base, type: 'app_mention', channel: 'D9', channel_type: undefined, text: 'x' },
      who,
    );
    expect(result).toMatchObject({ message: { chat: { id: 'D9', isGroup: false }, mentioned: true } });
  });

  test("another bot's message is kept and marked as a bot; ours is skipped", () => {
    const other = normalizeMessageEvent(
      { ...base, user: undefined, subtype: 'bot_message', bot_id: 'BOTHER', text: 'beep' },
      who,
    );
    expect(other).toMatchObject({ message: { sender: { id: 'BOTHER', isBot: true } } });
    const ours = normalizeMessageEvent(
      { ...base, user: undefined, subtype: 'bot_message', bot_id: 'BBOT', text: 'me' },
      who,
    );
    expect(ours).toEqual({ kind: 'skip', reason: "the bot's own message" });
  });

  test('a thread parent (thread_ts equal to ts) is not in a thread', () => {
    const result = normalizeMessageEvent({ ...base, thread_ts: base.ts, text: 'parent' }, who);
    expect(result).toMatchObject({ message: { threadId: null } });
  });

  test('oversized or ill-formed fields are skipped, not thrown', () => {
    expect(normalizeMessageEvent({ ...base, text: 'x'.repeat(200_000) }, who).kind).toBe('skip');
    expect(normalizeMessageEvent({ ...base, ts: '1e9' }, who).kind).toBe('skip');
    expect(normalizeMessageEvent(null, who).kind).toBe('skip');
    expect(normalizeMessageEvent('message', who).kind).toBe('skip');
  });
});

describe('normalizeBlockActions', () => {
  const press = {
    type: 'block_actions',
    user: { id: 'U1' },
    channel: { id: 'D1' },
    container: { message_ts: '1.1', thread_ts: '1.0' },
    actions: [{ action_id: 'warren_0', value: 'tok', action_ts: '2.2' }],
  };

  test('a press inside a thread keeps the thread; without a trigger id its id is the action time', () => {
    expect(normalizeBlockActions(press, who)).toMatchObject({
      message: {
        platformMessageId: 'press:2.2',
        threadId: '1.0',
        chat: { isGroup: false },
        action: { value: 'tok' },
      },
    });
  });

  test('a value that is not a button token is skipped', () => {
    const long = { ...press, actions: [{ ...press.actions[0], value: 'x'.repeat(65) }] };
    expect(normalizeBlockActions(long, who)).toEqual({ kind: 'skip', reason: 'button without a token' });
  });
});

describe('blocks', () => {
  test('escaping never pushes a section past the limit', () => {
    const chunks = escapedChunks('&'.repeat(5000), 3000);
    for (const chunk of chunks) expect(chunk.length).toBeLessThanOrEqual(3000);
    expect(chunks.join('')).toBe('&amp;'.repeat(5000));
  });

  test('sections are cut as replies are: between words, and a code block cut in two is closed and reopened', () => {
    const code = Array.from({ length: 150 }, (_, i) => `const v${i} = ${i};`).join('\n');
    const text = `Intro with R&D words.\n\n\`\`\`ts\n${code}\n\`\`\`\nThe end.`;
    const chunks = escapedChunks(text, 1000);
    expect(chunks.length).toBeGreaterThan(2);
    for (const chunk of chunks) {
      expect(chunk.length).toBeLessThanOrEqual(1000);
      // Every section renders on its own: its fences are balanced.
      expect((chunk.match(/^```/gm) ?? []).length % 2).toBe(0);
    }
    const lines = (t: string) => t.split('\n').filter((line) => line !== '' && !line.startsWith('```'));
    expect(chunks.flatMap(lines)).toEqual(lines(text.replace('&', '&amp;')));
  });

  test('more than 25 buttons go into several action rows', () => {
    const buttons = Array.from({ length: 30 }, (_, i) => ({ label: `b${i}`, token: `t${i}` }));
    const { blocks } = renderPiece({ text: 'pick', buttons });
    expect(blocks.filter((block) => block.type === 'actions')).toHaveLength(2);
  });

  test('a card shows the message text, then its title and body, then its buttons', () => {
    const { blocks } = renderPiece({
      text: 'Approval needed',
      card: { title: 'Deploy', body: 'version 2 to production', options: [] },
      buttons: [{ label: 'Approve', token: 'b1' }],
    });
    expect(blocks.map((b) => b.type)).toEqual(['section', 'header', 'section', 'actions']);
    expect(JSON.stringify(blocks)).toContain('Approval needed');
    expect(JSON.stringify(blocks)).toContain('version 2 to production');
  });

  test('a piece needing more than 50 blocks once escaped is refused as too large, never cut', () => {
    const text = Array.from({ length: 8000 }, () => '&&&&').join(' '); // 40,000 characters, 5x escaped
    expect(() => renderPiece({ text })).toThrow(expect.objectContaining({ code: 'too_large' }));
  });

  test('emoji become reaction names', () => {
    expect([emojiName(':tada:'), emojiName('👀'), emojiName('🦄')]).toEqual(['tada', 'eyes', undefined]);
  });
});

describe('signatures', () => {
  const now = new Date('2024-01-01T00:00:00Z');
  const ts = String(now.getTime() / 1000);

  test('a signature over the exact body within five minutes is valid', () => {
    const body = '{"type":"event_callback"}';
    const signature = signSlackRequest('s3cret', ts, body);
    expect(isValidSlackSignature('s3cret', { timestamp: ts, signature, body }, now)).toBe(true);
    expect(isValidSlackSignature('s3cret', { timestamp: ts, signature, body: `${body} ` }, now)).toBe(false);
    expect(isValidSlackSignature('other', { timestamp: ts, signature, body }, now)).toBe(false);
    const later = new Date(now.getTime() + 301_000);
    expect(isValidSlackSignature('s3cret', { timestamp: ts, signature, body }, later)).toBe(false);
    expect(isValidSlackSignature('s3cret', { timestamp: undefined, signature, body }, now)).toBe(false);
  });
});
