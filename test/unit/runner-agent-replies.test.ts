// Where the runner answers another agent's message: to that agent, in reply to the message (the host
// delivers it back into the session that asked and counts the hops).
import { expect, test } from 'vitest';
import type { TurnMessage } from '../../container/agent-runner/src/messages.ts';
import { planTurn, targetFor } from '../../container/agent-runner/src/plan.ts';

const base = { timestamp: '2026-11-23T10:00:00.000Z', channelType: null, platformId: null, threadId: null };
const routing = { channelType: 'webchat', platformId: 'lobby', threadId: null };
const fromAgent = (seq: number): TurnMessage => ({
  ...base,
  id: `a${seq}`,
  seq,
  trigger: true,
  kind: 'agent',
  content: { text: 'ping', fromAgentGroup: 'ag_other', fromSession: 'ses_other', hops: 1 },
});
const fromPerson = (seq: number): TurnMessage => ({
  ...base,
  platformId: 'lobby',
  channelType: 'webchat',
  id: `c${seq}`,
  seq,
  trigger: true,
  kind: 'chat',
  content: { text: 'hi', sender: { id: 'webchat:ana' }, attachments: [], mentioned: true },
});

test('an agent message is answered to that agent, in reply to it', () => {
  expect(planTurn([fromAgent(2)], routing)?.conversation).toEqual({
    kind: 'agent',
    address: { channelType: null, platformId: 'ag_other', threadId: null },
    inReplyTo: 'a2',
  });
});

test('in a turn with a person and an agent, each answer goes back to whoever asked', () => {
  const plan = planTurn([fromPerson(2), fromAgent(4)], routing)!;
  expect(targetFor(plan, 'c2')).toMatchObject({ kind: 'chat', address: routing, inReplyTo: 'c2' });
  expect(targetFor(plan, 'a4')).toMatchObject({ kind: 'agent', inReplyTo: 'a4' });
});
