// Files both ways with a real host and a real container: a file posted to the web chat reaches the
// agent (it reads the bytes from the session's in/inbox/ through its read-only mount), and a file
// the agent sends comes back through the web chat.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { PostError, startWarren, type Warren } from '../harness/warren.ts';

let warren: Warren;

beforeAll(async () => {
  warren = await startWarren({
    script: {
      rules: [
        { match: '^what is in it', steps: [{ reply: '{{attachments}}\n---\n{{attachment_text}}' }] },
        {
          match: '^send me the report',
          steps: [{ tool: 'send_file', args: { path: 'report.csv', text: 'here' } }],
        },
      ],
    },
    config: { attachments: { maxFileMb: 1 } },
  });
});
afterAll(() => warren?.stop());

const base64 = (text: string) => Buffer.from(text).toString('base64');

test('a file posted to the web chat reaches the agent, which opens it at its path in the container', async () => {
  const chat = await warren.chat('files-in');
  const secret = `the milk expires on ${new Date().toISOString()}`;
  await chat.send({
    id: 'files-in-1',
    text: 'what is in it?',
    files: [{ name: '../../notes.txt', type: 'text/plain', data: base64(secret) }],
  });

  const reply = await chat.waitForReply((r) => r.inReplyTo === 'files-in-1', 60_000);
  const [listing, read] = reply.text.split('\n---\n');
  expect(listing).toMatch(
    new RegExp(
      `^notes\\.txt \\(text/plain, ${secret.length} bytes\\) at /session/in/inbox/in_[A-Za-z0-9_-]+/notes\\.txt$`,
    ),
  );
  expect(read).toBe(secret);
  // On the host: stored under in/inbox/<row id>/, where the container can only read it.
  const session = warren.sessionOf('files-in')!;
  const path = listing!.slice(listing!.indexOf(' at /session/in/') + ' at /session/in/'.length);
  expect(readFileSync(join(session.paths.inDir, path), 'utf8')).toBe(secret);
});

test('a file over the cap is refused with 413 before the agent ever sees it', async () => {
  const chat = await warren.chat('files-big');
  const big = Buffer.alloc(1024 * 1024 + 1).toString('base64');
  const refused = await chat
    .send({ id: 'files-big-1', text: 'what is in it?', files: [{ name: 'big.bin', data: big }] })
    .catch((err: unknown) => err);
  expect(refused).toBeInstanceOf(PostError);
  expect((refused as PostError).status).toBe(413);
  expect((refused as PostError).message).toMatch(/big\.bin.*more than the 1048576 bytes a file may have/);
  expect(await chat.sentinel({}, 60_000)).toEqual([]);
});

test('a file the agent sends arrives in the web chat with its bytes', async () => {
  writeFileSync(join(warren.groupsDir, 'main', 'report.csv'), 'month,sales\njan,3\n');
  const chat = await warren.chat('files-out');
  await chat.send({ id: 'files-out-1', text: 'send me the report' });
  const reply = await chat.waitForReply((r) => r.inReplyTo === 'files-out-1' && r.files.length > 0, 60_000);
  expect(reply.files.map((f) => f.name)).toEqual(['report.csv']);
  const served = await fetch(`${warren.url}${reply.files[0]!.url}`);
  expect(await served.text()).toBe('month,sales\njan,3\n');
});
