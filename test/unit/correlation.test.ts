// The correlation id that follows one inbound message through the logs: which values the host accepts
// from a container, which message an outbound row or a gateway call belongs to, and which session log
// lines `warren logs --message` keeps.
import { describe, expect, test } from 'vitest';
import { traceOf } from '../../container/agent-runner/src/turn.ts';
import { isAboutMessage } from '../../src/host/cli/logs.ts';
import { corrOf } from '../../src/host/delivery/corr.ts';
import { turnOf } from '../../src/host/gateway/attribution.ts';
import { checkRow } from '../../src/host/sessions/outbound.ts';
import { asCorrelationId } from '../../src/shared/correlation.ts';

describe('a correlation id from a container', () => {
  test('is a messages_in id the host makes, or nothing', () => {
    for (const id of ['in_AbC-12_xyz', 'run_Q1', 'msg_x', 'host:approval:apv_1'])
      expect(asCorrelationId(id)).toBe(id);
    for (const bad of ['', 'in_\u001b[2J', 'in x', 'in_"}', 'a'.repeat(129), 42, null, undefined, ['in_1']])
      expect(asCorrelationId(bad)).toBeUndefined();
  });

  const stored = (content: unknown, inReplyTo: string | null = null) =>
    checkRow({
      seq: 3,
      id: 'out_1',
      in_reply_to: inReplyTo,
      timestamp: '2026-12-06T08:00:00.000Z',
      deliver_after: null,
      kind: 'chat',
      platform_id: 'chat-1',
      channel_type: 'webchat',
      thread_id: null,
      content: JSON.stringify(content),
      oversized: '',
    });

  test('in an outbound row’s content names the turn’s message; a bad one is dropped and the row still goes', () => {
    const good = stored({ op: 'send', text: 'hi', corr: 'in_abc' });
    expect(good.op).toMatchObject({ op: 'send', text: 'hi', corr: 'in_abc' });
    for (const corr of ['in_\u0007bell', 'x'.repeat(500), { nested: 'in_abc' }, 7]) {
      const row = stored({ op: 'send', text: 'hi', corr });
      expect(row.error).toBeUndefined();
      expect(row.op).toMatchObject({ op: 'send', text: 'hi' });
      expect(row.op?.corr).toBeUndefined();
    }
  });

  test('an outbound row belongs to the message it answers, else to the one whose turn wrote it', () => {
    expect(corrOf(stored({ op: 'send', text: 'hi', corr: 'in_turn' }, 'in_answered'))).toBe('in_answered');
    expect(corrOf(stored({ op: 'send', text: 'to another chat', corr: 'in_turn' }))).toBe('in_turn');
    // in_reply_to is the container's too: a value that is no id is not logged
    expect(corrOf(stored({ op: 'send', text: 'hi', corr: 'in_turn' }, 'in_\u001b[31m'))).toBe('in_turn');
    expect(corrOf(stored({ op: 'edit', targetSeq: 3, text: 'x' }))).toBeUndefined();
  });
});

describe('the message a turn answers', () => {
  test('the gateway names the last triggering claim in seq order, and the batch when there are several', () => {
    expect(turnOf([])).toEqual({});
    expect(turnOf([{ id: 'in_a', seq: 2, trigger: 1 }])).toEqual({ corr: 'in_a' });
    // claims come newest first; a context row (trigger 0) rides along but is not what the turn answers
    expect(
      turnOf([
        { id: 'in_c', seq: 6, trigger: 0 },
        { id: 'in_b', seq: 4, trigger: 1 },
        { id: 'in_a', seq: 2, trigger: 1 },
      ]),
    ).toEqual({ corr: 'in_b', batch: ['in_a', 'in_b', 'in_c'] });
  });

  test('the runner names the same one: the plan’s trigger, with the batch when it took several', () => {
    const m = (id: string) => ({ id }) as never;
    expect(traceOf({ messages: [m('in_a')], trigger: m('in_a') })).toEqual({ corr: 'in_a' });
    expect(traceOf({ messages: [m('in_a'), m('in_b')], trigger: m('in_b') })).toEqual({
      corr: 'in_b',
      batch: ['in_a', 'in_b'],
    });
  });
});

describe('warren logs --message', () => {
  const line = (record: object) => `2026-12-06T08:00:00.000Z ${JSON.stringify(record)}`;

  test('keeps the lines whose corr names the message, or whose batch holds it', () => {
    expect(isAboutMessage(line({ msg: 'turn completed', corr: 'in_a' }), 'in_a')).toBe(true);
    expect(
      isAboutMessage(line({ msg: 'turn completed', corr: 'in_b', batch: ['in_a', 'in_b'] }), 'in_a'),
    ).toBe(true);
  });

  test('leaves out other messages’ lines, ids that only appear in a text, and lines that are not JSON', () => {
    expect(isAboutMessage(line({ msg: 'turn completed', corr: 'in_b' }), 'in_a')).toBe(false);
    expect(isAboutMessage(line({ msg: 'turn completed', corr: 'in_ab' }), 'in_a')).toBe(false);
    expect(isAboutMessage(line({ msg: 'tool call', result: 'in_a', corr: 'in_b' }), 'in_a')).toBe(false);
    expect(isAboutMessage(line({ msg: 'x', corr: ['in_a'] }), 'in_a')).toBe(false);
    expect(isAboutMessage('2026-12-06T08:00:00.000Z warren runner: unexpected failure in_a', 'in_a')).toBe(
      false,
    );
    expect(isAboutMessage('2026-12-06T08:00:00.000Z {"corr":"in_a"', 'in_a')).toBe(false);
    expect(isAboutMessage('2026-12-06T08:00:00.000Z null in_a', 'in_a')).toBe(false);
  });
});
