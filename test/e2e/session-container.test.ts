// The session file contract across a real container boundary: in/ read-only, out/ read-write.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import Docker from 'dockerode';
import { afterAll, expect, inject, test } from 'vitest';
import { buildRunner } from '../../scripts/build-runner.ts';
import { createDockerRuntime, removeOrphans } from '../../src/host/containers/index.ts';
import {
  createSessionFiles,
  insertMessagesIn,
  readUndelivered,
  sessionPaths,
} from '../../src/host/sessions/index.ts';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const installId = `test-session-${randomBytes(4).toString('hex')}`;
const runtime = createDockerRuntime({
  docker: new Docker({ socketPath: inject('dockerSocket') }),
  installId,
});
const dirs: string[] = [];

afterAll(async () => {
  await removeOrphans(runtime, installId);
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

test('a container reads inbound.db, answers into outbound.db, and cannot write inbound.db', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'warren-session-e2e-'));
  dirs.push(dataDir);
  const paths = sessionPaths(dataDir, 'ag_e2e', 'ses_e2e');
  await createSessionFiles(paths);
  const [first, second] = insertMessagesIn(paths, [
    {
      kind: 'chat',
      timestamp: new Date().toISOString(),
      content: { text: 'one', sender: { id: 'webchat:ana' } },
    },
    {
      kind: 'chat',
      timestamp: new Date().toISOString(),
      content: { text: 'two', sender: { id: 'webchat:ana' } },
    },
  ]);
  const probeDir = join(dataDir, 'probe');
  await buildRunner(repoRoot, {
    entry: 'test/fixtures/session-probe.ts',
    outfile: join(probeDir, 'probe.mjs'),
  });

  const ref = await runtime.start({
    image: inject('agentImage'),
    cmd: ['node', '/app/runner/probe.mjs'],
    env: { WARREN_SESSION_ID: 'ses_e2e' },
    mounts: [
      { hostPath: paths.inDir, containerPath: '/session/in', readOnly: true },
      { hostPath: paths.outDir, containerPath: '/session/out', readOnly: false },
      { hostPath: probeDir, containerPath: '/app/runner', readOnly: true },
    ],
    labels: { 'warren.session': 'ses_e2e' },
    user: `${process.getuid!()}:${process.getgid!()}`,
  });
  expect(await runtime.wait(ref)).toBe(0);
  const lines: string[] = [];
  for await (const line of runtime.logs(ref)) lines.push(line);
  const report = JSON.parse(lines.find((l) => l.startsWith('{'))!);
  await runtime.stop(ref, 0);

  expect(report.read).toEqual([first!.seq, second!.seq]);
  expect(report.inboundWrite).toMatch(/SQLITE_READONLY|SQLITE_CANTOPEN|EROFS/);
  expect(report.interfaces).toEqual(['lo']);

  // The host reads what the container wrote, with odd seqs above the inbound ones.
  const replies = readUndelivered(paths);
  expect(replies.map((r) => [r.in_reply_to, r.op?.op === 'send' && r.op.text])).toEqual([
    [first!.id, 'seen one'],
    [second!.id, 'seen two'],
  ]);
  expect(replies.map((r) => r.seq)).toEqual([5, 7]);
  const inbound = new Database(paths.inbound, { readonly: true });
  expect(inbound.prepare("SELECT count(*) FROM messages_in WHERE status = 'cancelled'").pluck().get()).toBe(
    0,
  );
  expect(inbound.pragma('integrity_check', { simple: true })).toBe('ok');
  inbound.close();
  expect(await runtime.list({ 'warren.session': 'ses_e2e' })).toEqual([]);
});
