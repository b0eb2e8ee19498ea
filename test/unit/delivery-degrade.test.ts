import { expect, test } from 'vitest';
import { Capability } from '../../src/host/channels/index.ts';
import { toChannelMessage } from '../../src/host/delivery/degrade.ts';
import { sessionPaths } from '../../src/host/sessions/index.ts';

// Only edits and reactions read the session's files; sends never do.
const paths = sessionPaths('/nonexistent', 'ag_1', 'ses_1');
const target = { idempotencyKey: 'k', chatId: 'c1', threadId: 't1', inReplyTo: null };
const send = { op: 'send' as const, text: 'hi', files: ['a.txt'] };
const file = { name: 'a.txt', path: '/tmp/a.txt' };

test('a reply in a thread stays in it where the channel has threads, and goes to the chat where not', () => {
  const threaded = toChannelMessage(paths, { ...send, files: [] }, target, Capability.Threads, []);
  expect(threaded).toMatchObject({ kind: 'send', chatId: 'c1', threadId: 't1' });
  const flat = toChannelMessage(paths, { ...send, files: [] }, target, 0, []);
  expect(flat).toMatchObject({ kind: 'send', chatId: 'c1', threadId: null });
});

test('files go only to a channel that can carry them; elsewhere the send is refused, not sent without them', () => {
  expect(toChannelMessage(paths, send, target, Capability.Files, [file])).toMatchObject({ files: [file] });
  expect(toChannelMessage(paths, send, target, 0, [file])).toEqual({
    unsupported: 'this channel cannot carry files',
  });
});

test('a card becomes numbered text on a channel without cards', () => {
  const card = {
    title: 'Deploy?',
    body: 'to prod',
    options: [
      { label: 'Yes', value: 'y' },
      { label: 'No', value: 'n' },
    ],
  };
  const message = toChannelMessage(paths, { op: 'send', text: 'ok', files: [], card }, target, 0, []);
  expect(message).toMatchObject({ kind: 'send', text: 'ok\n\n**Deploy?**\n\nto prod\n\n1. Yes\n2. No' });
  expect(message).not.toHaveProperty('card');
});
