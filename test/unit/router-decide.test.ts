import { describe, expect, test } from 'vitest';
import { decide } from '../../src/host/router.ts';

const wiring = {
  engageMode: 'mention' as const,
  engagePattern: null,
  senderScope: 'all' as const,
  ignoredMessagePolicy: 'drop' as const,
};
const publicChat = { unknownSenderPolicy: 'public' as const };
const strictChat = { unknownSenderPolicy: 'strict' as const };
const said = (text: string, mentioned = false) => ({ text, mentioned });

describe('engage modes', () => {
  test('mention engages only a message addressed to the bot', () => {
    expect(decide(wiring, publicChat, said('hi', true), false, false)).toEqual({ action: 'trigger' });
    expect(decide(wiring, publicChat, said('hi'), false, false)).toEqual({
      action: 'drop',
      reason: 'not_engaged',
    });
  });

  test('pattern engages a matching message, case-insensitively, mention or not', () => {
    const w = { ...wiring, engageMode: 'pattern' as const, engagePattern: '^!deploy\\b' };
    expect(decide(w, publicChat, said('!DEPLOY now'), false, false)).toEqual({ action: 'trigger' });
    expect(decide(w, publicChat, said('please !deploy', true), false, false).action).toBe('drop');
  });

  test('mention-sticky engages after a first mention while the session lives', () => {
    const w = { ...wiring, engageMode: 'mention-sticky' as const };
    expect(decide(w, publicChat, said('follow-up'), false, false).action).toBe('drop');
    expect(decide(w, publicChat, said('follow-up'), false, true)).toEqual({ action: 'trigger' });
    expect(decide(w, publicChat, said('hey bot', true), false, false)).toEqual({ action: 'trigger' });
  });
});

describe('ignored messages', () => {
  test('accumulate keeps a message that does not engage as context', () => {
    const w = { ...wiring, ignoredMessagePolicy: 'accumulate' as const };
    expect(decide(w, publicChat, said('just chatting'), false, false)).toEqual({ action: 'accumulate' });
  });
});

describe('access comes before engagement', () => {
  test('a strict chat drops unknown senders even when they mention the bot', () => {
    expect(decide(wiring, strictChat, said('hi', true), false, false)).toEqual({
      action: 'drop',
      reason: 'unknown_sender',
    });
    expect(decide(wiring, strictChat, said('hi', true), true, false)).toEqual({ action: 'trigger' });
  });

  test('a request_approval chat holds an unknown sender who addresses the agent, until an admin decides', () => {
    const chat = { unknownSenderPolicy: 'request_approval' as const };
    expect(decide(wiring, chat, said('hi', true), false, false)).toEqual({ action: 'hold' });
    expect(decide(wiring, chat, said('hi', true), true, false)).toEqual({ action: 'trigger' });
  });

  test('a request_approval chat drops an unknown sender’s chatter that would not start a turn (no card)', () => {
    const chat = { unknownSenderPolicy: 'request_approval' as const };
    const w = { ...wiring, ignoredMessagePolicy: 'accumulate' as const };
    expect(decide(w, chat, said('just chatting'), false, false)).toEqual({
      action: 'drop',
      reason: 'unknown_sender',
    });
  });

  test('sender scope "known" drops strangers even in a public chat, and does not accumulate them', () => {
    const w = { ...wiring, senderScope: 'known' as const, ignoredMessagePolicy: 'accumulate' as const };
    expect(decide(w, publicChat, said('hi', true), false, false)).toEqual({
      action: 'drop',
      reason: 'sender_not_known',
    });
    expect(decide(w, publicChat, said('hi', true), true, false)).toEqual({ action: 'trigger' });
  });
});
