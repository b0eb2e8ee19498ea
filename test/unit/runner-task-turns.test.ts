// How the runner turns due task runs into turns and prompts: each run is a turn of its own, and the
// prompt says when it was scheduled, how many runs it stands in for and whether an operator asked.
import { describe, expect, test } from 'vitest';
import { formatTurn } from '../../container/agent-runner/src/formatter.ts';
import type { TurnMessage } from '../../container/agent-runner/src/messages.ts';
import { planTurn } from '../../container/agent-runner/src/plan.ts';

const base = { timestamp: '2026-11-23T10:00:00.000Z', channelType: null, platformId: null, threadId: null };
const routing = { channelType: 'webchat', platformId: 'lobby', threadId: null };
const chat = (seq: number, trigger = true): TurnMessage => ({
  ...base,
  id: `c${seq}`,
  seq,
  trigger,
  kind: 'chat',
  content: { text: `hi ${seq}`, sender: { id: 'webchat:ana' }, attachments: [], mentioned: false },
});
const task = (seq: number, extra: Record<string, unknown> = {}): TurnMessage => ({
  ...base,
  id: `t${seq}`,
  seq,
  trigger: true,
  kind: 'task',
  content: { prompt: `run ${seq}`, taskId: 'task_1', scheduledFor: '2026-11-23T09:00:00.000Z', ...extra },
});
const ids = (messages: TurnMessage[]) => planTurn(messages, routing)?.messages.map((m) => m.id);

describe('task runs are turns of their own', () => {
  test('three due runs of a task make three turns, one at a time', () => {
    expect(ids([task(2), task(4), task(6)])).toEqual(['t2']);
    expect(ids([task(4), task(6)])).toEqual(['t4']);
  });
  test('messages before a run are answered first; those after it wait for the next turn', () => {
    expect(ids([chat(2), chat(4), task(6), chat(8)])).toEqual(['c2', 'c4']);
    expect(ids([task(6), chat(8)])).toEqual(['t6']);
  });
  test('context-only rows before a run ride along with it', () => {
    expect(ids([chat(2, false), task(4), chat(6)])).toEqual(['c2', 't4']);
  });
  test('a run is answered at the session address, without in_reply_to', () => {
    expect(planTurn([task(2)], routing)?.conversation).toEqual({
      kind: 'chat',
      address: routing,
      inReplyTo: null,
    });
  });
});

describe('the task element of the prompt', () => {
  const opts = { timezone: 'Europe/Berlin', now: new Date('2026-11-23T10:05:00.000Z'), inDir: '/session/in' };
  test('a run that stands in for missed ones says how many', () => {
    expect(formatTurn([task(4, { missed: 2 })], opts)).toContain(
      '<task id="4" task-id="task_1" scheduled-for="Mon 2026-11-23 10:00 GMT+01:00" missed-runs="2">run 4</task>',
    );
  });
  test('a run an operator asked for is marked manual', () => {
    expect(formatTurn([task(4, { manual: true })], opts)).toContain('manual="true">run 4</task>');
  });
});
