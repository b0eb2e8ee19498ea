// A compromised session container, end to end (DESIGN §10): with real session containers running, the
// test writes into a session's out/ what code inside it can write (rows with traversal ids, symlinks,
// a FIFO, a foreign schema, huge and deep rows) and floods its stdout. For each attack: nothing outside
// the session is read, sent or deleted; another chat is answered within 2 s; the bad row or session
// carries a clear reason.
import { execFile, execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { SessionPaths } from '../../src/host/sessions/index.ts';
import { ringBell } from '../../src/shared/commit-events.ts';
import { execIn } from '../harness/container-exec.ts';
import { startWarren, waitUntil, type ChatClient, type Warren } from '../harness/warren.ts';

const SECRET = 'sk-canary-7f3a9c';

let warren: Warren;
let bystander: ChatClient;
let canaryDir: string;
let canaryFile: string;

beforeAll(async () => {
  warren = await startWarren({ idleExitMs: 120_000, containers: { maxTotal: 8 } });
  canaryDir = join(warren.dataDir, '..', 'canary');
  mkdirSync(canaryDir);
  canaryFile = join(canaryDir, 'secrets.json');
  writeFileSync(canaryFile, JSON.stringify({ ANTHROPIC_API_KEY: SECRET }));
  bystander = await warren.chat('bystander');
  await bystander.send({ id: 'warm', text: 'hello' });
  await bystander.waitForReplies(1, 30_000);
}, 60_000);
afterAll(() => warren?.stop());

/** A chat whose session container is up, and its session's files. */
async function liveSession(name: string): Promise<{ chat: ChatClient; id: string; paths: SessionPaths }> {
  const chat = await warren.chat(name);
  await chat.send({ id: `${name}-1`, text: 'hi' });
  await chat.waitForReplies(1, 30_000);
  const session = warren.sessionOf(name)!;
  return { chat, ...session };
}

/**
 * A row as the container writes it: its own handle on outbound.db, the file's CHECKs off; then it
 * rings the bell, as a runner does after a commit (once the session's bell has been heard, the host
 * polls it only after 10 s without a ring).
 */
function writeRow(paths: SessionPaths, row: { id: string; content: string; contentSql?: string }): number {
  const db = new Database(paths.outbound);
  db.pragma('busy_timeout = 5000');
  db.pragma('ignore_check_constraints = ON');
  const seq = db
    .transaction(() => {
      // Above whatever the runner wrote, as its own allocation would be.
      const next =
        ((db.prepare('SELECT coalesce(max(seq), 0) FROM messages_out').pluck().get() as number) | 1) + 2;
      db.prepare(
        `INSERT INTO messages_out (id, seq, timestamp, kind, content)
         VALUES (?, ?, '2026-01-01T00:00:00Z', 'chat', ${row.contentSql ?? '?'})`,
      ).run(row.id, next, ...(row.contentSql ? [] : [row.content]));
      return next;
    })
    .immediate();
  db.close();
  ringBell(paths.outDir);
  return seq;
}

/** The bystander's chat is answered within 2 s of an attack. */
async function bystanderAnswers(label: string): Promise<number> {
  const id = `bystander-${label}`;
  const started = performance.now();
  await bystander.send({ id, text: label });
  await bystander.waitForReply((r) => r.inReplyTo === id, 2000);
  return performance.now() - started;
}

/** The failure the host recorded for an outbound row (by its id, or `seq_<seq>` for an unusable id). */
async function failureOf(sessionId: string, messageOutId: string): Promise<string> {
  let error: string | undefined;
  await waitUntil(
    () =>
      (error = warren
        .db()
        .prepare(
          "SELECT error FROM delivery_attempts WHERE session_id = ? AND message_out_id = ? AND status = 'failed'",
        )
        .pluck()
        .get(sessionId, messageOutId) as string | undefined) !== undefined,
    10_000,
    () => `no failure recorded for ${messageOutId}`,
  );
  return error!;
}

async function closedReasonOf(sessionId: string): Promise<string> {
  let reason: string | null = null;
  await waitUntil(
    () =>
      (reason = warren
        .db()
        .prepare('SELECT closed_reason FROM sessions WHERE id = ?')
        .pluck()
        .get(sessionId) as string | null) !== null,
    10_000,
    () => `session ${sessionId} was not closed`,
  );
  return reason!;
}

/** Nothing the host served to any chat holds the secret, and the canary is where it was. */
function assertNothingLeaked(): void {
  expect(readFileSync(canaryFile, 'utf8')).toContain(SECRET);
  const served = join(warren.dataDir, 'files');
  const files = existsSync(served) ? readdirSync(served, { recursive: true, withFileTypes: true }) : [];
  for (const f of files.filter((e) => e.isFile())) {
    expect(readFileSync(join(f.parentPath, f.name), 'utf8')).not.toContain(SECRET);
  }
}

describe('rows and files a compromised container writes', () => {
  let s: Awaited<ReturnType<typeof liveSession>>;
  beforeAll(async () => {
    s = await liveSession('hostile-rows');
  }, 60_000);

  test('a message id that climbs out of the outbox deletes and sends nothing outside', async () => {
    const traversal = relative(s.paths.outbox, canaryDir); // ../../../../../canary
    const seq = writeRow(s.paths, {
      id: traversal,
      content: JSON.stringify({ op: 'send', text: 'x', files: ['secrets.json'] }),
    });
    expect(await failureOf(s.id, `seq_${seq}`)).toMatch(/id/);
    expect(await bystanderAnswers('traversal')).toBeLessThan(2000);
    assertNothingLeaked();
  });

  test('a symlinked file in the outbox is not sent', async () => {
    mkdirSync(join(s.paths.outbox, 'out_link_file'));
    symlinkSync(canaryFile, join(s.paths.outbox, 'out_link_file', 'key.txt'));
    writeRow(s.paths, {
      id: 'out_link_file',
      content: JSON.stringify({ op: 'send', text: 'here', files: ['key.txt'] }),
    });
    expect(await failureOf(s.id, 'out_link_file')).toMatch(/symbolic link/);
    expect(await bystanderAnswers('symlinked-file')).toBeLessThan(2000);
    assertNothingLeaked();
    expect(s.chat.replies().some((r) => r.text === 'here')).toBe(false);
  });

  test('a symlinked message folder is neither read nor deleted', async () => {
    symlinkSync(canaryDir, join(s.paths.outbox, 'out_link_dir'));
    writeRow(s.paths, {
      id: 'out_link_dir',
      content: JSON.stringify({ op: 'send', text: 'x', files: ['secrets.json'] }),
    });
    expect(await failureOf(s.id, 'out_link_dir')).toMatch(/not a folder of the session/);
    expect(await bystanderAnswers('symlinked-folder')).toBeLessThan(2000);
    assertNothingLeaked();
    expect(existsSync(canaryDir)).toBe(true);
  });

  test('an outbox replaced by a symlink leads nowhere', async () => {
    renameSync(s.paths.outbox, `${s.paths.outbox}.real`);
    symlinkSync(join(canaryDir, '..'), s.paths.outbox);
    writeRow(s.paths, {
      id: 'canary',
      content: JSON.stringify({ op: 'send', text: 'x', files: ['secrets.json'] }),
    });
    expect(await failureOf(s.id, 'canary')).toMatch(/out\/outbox is not a folder/);
    expect(await bystanderAnswers('symlinked-outbox')).toBeLessThan(2000);
    assertNothingLeaked();
    expect(existsSync(canaryDir)).toBe(true);
    rmSync(s.paths.outbox);
    renameSync(`${s.paths.outbox}.real`, s.paths.outbox);
  });

  test('a 500 MB row fails alone, unread', async () => {
    writeRow(s.paths, { id: 'out_huge', content: '', contentSql: 'zeroblob(500000000)' });
    expect(await failureOf(s.id, 'out_huge')).toMatch(/content over the size limit/);
    expect(await bystanderAnswers('huge-row')).toBeLessThan(2000);
  }, 60_000);

  test('JSON nested 100,000 deep fails alone', async () => {
    writeRow(s.paths, {
      id: 'out_deep',
      content: '{"op":' + '['.repeat(100_000) + ']'.repeat(100_000) + '}',
    });
    expect(await failureOf(s.id, 'out_deep')).toMatch(/nests deeper than 64/);
    expect(await bystanderAnswers('deep-json')).toBeLessThan(2000);
  });

  test('a bell rung without pause, made a FIFO, or swapped without pause freezes nothing and loses nothing', async () => {
    const bell = join(s.paths.outDir, 'bell');
    // The container's own loop: touching out/bell as fast as it can for 3 s.
    const ringing = promisify(execFile)(process.execPath, [
      '-e',
      `const { utimesSync } = require('node:fs');
       for (const end = Date.now() + 3000; Date.now() < end; ) utimesSync(${JSON.stringify(bell)}, new Date(), new Date());`,
    ]);
    writeRow(s.paths, { id: 'out_rung', content: JSON.stringify({ op: 'send', text: 'rung' }) });
    expect(await bystanderAnswers('ringing')).toBeLessThan(2000);
    await s.chat.waitForReply((r) => r.text === 'rung', 10_000);
    await ringing;
    // The host never opens the bell: a FIFO there would block whoever did.
    rmSync(bell);
    execFileSync('mkfifo', [bell]);
    writeRow(s.paths, { id: 'out_fifo_bell', content: JSON.stringify({ op: 'send', text: 'still rung' }) });
    await s.chat.waitForReply((r) => r.text === 'still rung', 10_000);
    expect(await bystanderAnswers('fifo-bell')).toBeLessThan(2000);
    rmSync(bell);
    // Removed and made again without pause: the host's watch moves between the bell and its folder.
    const swapping = promisify(execFile)(process.execPath, [
      '-e',
      `const { rmSync, writeFileSync } = require('node:fs');
       for (const end = Date.now() + 3000; Date.now() < end; ) {
         writeFileSync(${JSON.stringify(bell)}, '');
         rmSync(${JSON.stringify(bell)}, { force: true });
       }`,
    ]);
    writeRow(s.paths, { id: 'out_swapped_bell', content: JSON.stringify({ op: 'send', text: 'swapped' }) });
    expect(await bystanderAnswers('swapped-bell')).toBeLessThan(2000);
    await s.chat.waitForReply((r) => r.text === 'swapped', 10_000);
    await swapping;
  }, 30_000);

  test('the session keeps working after all of it', async () => {
    await s.chat.send({ id: 'hostile-rows-after', text: 'still there?' });
    const reply = await s.chat.waitForReply((r) => r.inReplyTo === 'hostile-rows-after', 10_000);
    expect(reply.text).toBe('echo: still there?');
  });
});

describe('session files a compromised container replaces', () => {
  test('a FIFO as outbound.db closes that session and freezes nothing', async () => {
    const s = await liveSession('hostile-fifo');
    renameSync(s.paths.outbound, `${s.paths.outbound}.real`);
    execFileSync('mkfifo', [s.paths.outbound]);
    expect(await closedReasonOf(s.id)).toMatch(/outbound\.db is a FIFO/);
    expect(await bystanderAnswers('fifo')).toBeLessThan(2000);
    await s.chat.waitForReply((r) => /conversation was reset/.test(r.text), 10_000);
    await s.chat.send({ id: 'hostile-fifo-again', text: 'hello again' });
    await s.chat.waitForReply((r) => r.inReplyTo === 'hostile-fifo-again', 30_000); // a fresh session
    await waitUntil(
      async () => !(await warren.containers()).some((c) => c.labels['warren.session'] === s.id),
      15_000,
      () => 'the unsafe session’s container still runs',
    );
  }, 60_000);

  test('a trigger in outbound.db closes that session without running it', async () => {
    const s = await liveSession('hostile-trigger');
    const db = new Database(s.paths.outbound);
    db.pragma('busy_timeout = 5000');
    db.exec('CREATE TRIGGER wipe AFTER INSERT ON processing_ack BEGIN DELETE FROM session_state; END');
    db.close();
    expect(await closedReasonOf(s.id)).toMatch(/schema other than the contract/);
    expect(await bystanderAnswers('trigger')).toBeLessThan(2000);
  }, 60_000);

  test('a generated column in outbound.db closes that session', async () => {
    const s = await liveSession('hostile-generated');
    const db = new Database(s.paths.outbound);
    db.pragma('busy_timeout = 5000');
    db.exec(
      `ALTER TABLE messages_out ADD COLUMN boom TEXT GENERATED ALWAYS AS (hex(zeroblob(100000000))) VIRTUAL`,
    );
    db.close();
    expect(await closedReasonOf(s.id)).toMatch(/schema other than the contract/);
    expect(await bystanderAnswers('generated')).toBeLessThan(2000);
  }, 60_000);
});

describe('output a compromised container prints', () => {
  test('a 100 MB line without a newline on stdout is cut and freezes nothing', async () => {
    const s = await liveSession('hostile-stdout');
    const container = (await warren.containers()).find((c) => c.labels['warren.session'] === s.id)!;
    const print = execIn(
      warren.docker,
      container.id,
      [
        'node',
        '-e',
        "const fs=require('fs');const fd=fs.openSync('/proc/1/fd/1','w');const b=Buffer.alloc(1<<20,120);for(let i=0;i<100;i++)fs.writeSync(fd,b)",
      ],
      { timeoutMs: 60_000 },
    );
    expect(await bystanderAnswers('stdout-during')).toBeLessThan(2000);
    expect((await print).exitCode).toBe(0);
    expect(await bystanderAnswers('stdout-after')).toBeLessThan(2000);
    await s.chat.send({ id: 'hostile-stdout-2', text: 'still there?' });
    await s.chat.waitForReply((r) => r.inReplyTo === 'hostile-stdout-2', 10_000);
  }, 90_000);
});
