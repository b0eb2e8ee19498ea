// Which files send_file may send: the group folder and the agent's work folder, on real folders with
// real symlinks, and nothing outside them, however the path is spelled.
import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import {
  MAX_SEND_FILE_BYTES,
  openSendableFile,
  type SendableRoots,
} from '../../container/agent-runner/src/mcp-tools/outbox.ts';
import {
  createSessionFiles,
  readUndelivered,
  sessionPaths,
  type SessionPaths,
  writeRouting,
} from '../../src/host/sessions/index.ts';
import { callAgentTool } from '../harness/agent-tool.ts';

/** A session folder, a group folder and a claude home with its work folder, side by side. */
async function layout() {
  const dataDir = mkdtempSync(join(tmpdir(), 'warren-send-file-'));
  const paths = sessionPaths(dataDir, 'ag_1', 'ses_1');
  await createSessionFiles(paths);
  writeRouting(paths, { channelType: 'webchat', platformId: 'lobby', threadId: null });
  const group = join(dataDir, 'groups/main');
  const home = join(paths.root, 'home');
  const work = join(home, 'work');
  mkdirSync(group, { recursive: true });
  mkdirSync(work, { recursive: true });
  mkdirSync(join(home, '.claude'));
  writeFileSync(join(home, '.claude/transcript.jsonl'), 'private');
  return { dataDir, paths, group, home, work, roots: { work, group } satisfies SendableRoots };
}

/** The file's name and content when it may be sent, else the error. */
async function attempt(roots: SendableRoots, path: string): Promise<string> {
  const opened = await openSendableFile(roots, path);
  if (!opened.ok) return opened.error;
  try {
    return `${opened.file.name}: ${(await opened.file.handle.readFile()).toString('utf8')}`;
  } finally {
    await opened.file.handle.close();
  }
}

describe('send_file paths', () => {
  test('a relative path is looked up in the work folder first, then in the group folder', async () => {
    const { roots, work, group } = await layout();
    writeFileSync(join(work, 'report.txt'), 'from work');
    writeFileSync(join(group, 'report.txt'), 'from group');
    writeFileSync(join(group, 'logo.txt'), 'the logo');
    mkdirSync(join(work, 'out'));
    writeFileSync(join(work, 'out/chart.txt'), 'a chart');

    expect(await attempt(roots, 'report.txt')).toBe('report.txt: from work');
    expect(await attempt(roots, 'logo.txt')).toBe('logo.txt: the logo');
    expect(await attempt(roots, 'out/chart.txt')).toBe('chart.txt: a chart');
    expect(await attempt(roots, 'missing.txt')).toMatch(/^file 'missing.txt' does not exist in the folders/);
  });

  test('an absolute path is sent when it lies in the work folder or the group folder', async () => {
    const { roots, work, group, home } = await layout();
    writeFileSync(join(work, 'a.txt'), 'work file');
    writeFileSync(join(group, 'b.txt'), 'group file');

    expect(await attempt(roots, join(work, 'a.txt'))).toBe('a.txt: work file');
    expect(await attempt(roots, join(group, 'b.txt'))).toBe('b.txt: group file');
    expect(await attempt(roots, join(home, '.claude/transcript.jsonl'))).toMatch(/leads outside/);
    expect(await attempt(roots, '/etc/passwd')).toMatch(/^path '\/etc\/passwd' leads outside the folders/);
  });

  test('.. cannot climb out of the folders, in relative or absolute paths', async () => {
    const { roots, work } = await layout();

    expect(await attempt(roots, '../.claude/transcript.jsonl')).toMatch(/leads outside/);
    expect(await attempt(roots, '../../../../../../etc/passwd')).toMatch(/leads outside/);
    expect(await attempt(roots, `${work}/../.claude/transcript.jsonl`)).toMatch(/leads outside/);
    expect(await attempt(roots, '..')).toMatch(/leads outside/);
  });

  test('a symlink in the work folder that points out of the folders is refused', async () => {
    const { roots, work, paths } = await layout();
    symlinkSync(paths.inbound, join(work, 'inbound.db'));
    symlinkSync('/etc/passwd', join(work, 'passwd'));
    symlinkSync(paths.inDir, join(work, 'in'));
    symlinkSync('../.claude', join(work, 'claude'));

    expect(await attempt(roots, 'inbound.db')).toMatch(/^path 'inbound.db' leads outside/);
    expect(await attempt(roots, join(work, 'inbound.db'))).toMatch(/leads outside/);
    expect(await attempt(roots, 'passwd')).toMatch(/leads outside/);
    // A symlinked folder on the way counts as much as a symlinked file.
    expect(await attempt(roots, 'in/inbound.db')).toMatch(/leads outside/);
    expect(await attempt(roots, 'claude/transcript.jsonl')).toMatch(/leads outside/);
  });

  test('a symlink that stays inside the folders is followed and sent under the real file’s name', async () => {
    const { roots, work, group } = await layout();
    writeFileSync(join(group, 'logo.txt'), 'the logo');
    symlinkSync(join(group, 'logo.txt'), join(work, 'latest.txt'));

    expect(await attempt(roots, 'latest.txt')).toBe('logo.txt: the logo');
  });

  test('folders given through a symlink still work', async () => {
    const { work, group, dataDir } = await layout();
    writeFileSync(join(work, 'a.txt'), 'via a link');
    symlinkSync(work, join(dataDir, 'work-link'));

    expect(await attempt({ work: join(dataDir, 'work-link'), group }, 'a.txt')).toBe('a.txt: via a link');
  });

  test('a folder or a FIFO is not a regular file, and refusing a FIFO does not hang', async () => {
    const { roots, work } = await layout();
    mkdirSync(join(work, 'dir'));
    execFileSync('mkfifo', [join(work, 'pipe')]);

    expect(await attempt(roots, 'dir')).toBe("'dir' is not a regular file; nothing was sent.");
    expect(await attempt(roots, 'pipe')).toBe("'pipe' is not a regular file; nothing was sent.");
  });

  test('a file larger than the cap is refused', async () => {
    const { roots, work } = await layout();
    const big = await open(join(work, 'big.bin'), 'w');
    await big.truncate(MAX_SEND_FILE_BYTES + 1); // sparse: no real disk use
    await big.close();
    const fits = await open(join(work, 'fits.bin'), 'w');
    await fits.truncate(MAX_SEND_FILE_BYTES);
    await fits.close();

    expect(await attempt(roots, 'big.bin')).toBe(
      "'big.bin' is 51 MiB, more than the 50 MiB a file may have; nothing was sent.",
    );
    const opened = await openSendableFile(roots, 'fits.bin');
    expect(opened.ok && opened.file.size).toBe(MAX_SEND_FILE_BYTES);
    if (opened.ok) await opened.file.handle.close();
  });

  test('an agent without a work folder sends from the group folder only', async () => {
    const { work, group } = await layout();
    writeFileSync(join(work, 'a.txt'), 'work file');
    writeFileSync(join(group, 'b.txt'), 'group file');

    expect(await attempt({ group }, 'b.txt')).toBe('b.txt: group file');
    expect(await attempt({ group }, join(group, 'b.txt'))).toBe('b.txt: group file');
    expect(await attempt({ group }, 'a.txt')).toMatch(/does not exist/);
    expect(await attempt({ group }, join(work, 'a.txt'))).toMatch(/leads outside/);
  });

  test('a work folder that does not exist yet is skipped', async () => {
    const { group, dataDir } = await layout();
    writeFileSync(join(group, 'b.txt'), 'group file');

    expect(await attempt({ work: join(dataDir, 'nowhere'), group }, 'b.txt')).toBe('b.txt: group file');
  });
});

/** A turn in the web chat lobby whose agent works in `work` with its group folder `group`. */
function sendFileTurn(paths: SessionPaths, group: string, work: string) {
  return {
    sessionId: 'ses_1',
    paths,
    clock: () => new Date('2026-03-01T10:00:00Z'),
    workspace: group,
    workDir: work,
    address: { channelType: 'webchat', platformId: 'lobby', threadId: null },
  };
}

describe('the send_file tool', () => {
  test('a file the agent wrote in its work folder is staged in the outbox and listed in one send row', async () => {
    const { paths, group, work } = await layout();
    writeFileSync(join(work, 'summary.md'), '# Summary\n');
    const turn = sendFileTurn(paths, group, work);

    const result = await callAgentTool(turn, 'send_file', { path: 'summary.md', text: 'here it is' });

    expect(result).toMatchObject({ isError: false, text: expect.stringMatching(/^\{"seq":\d+\}$/) });
    const [row] = readUndelivered(paths);
    expect(row!.op).toEqual({ op: 'send', text: 'here it is', files: ['summary.md'], corr: 'in_turn' });
    expect(readFileSync(join(paths.outbox, row!.id, 'summary.md'), 'utf8')).toBe('# Summary\n');
  });

  test('a refused path writes no row and stages nothing', async () => {
    const { paths, group, work } = await layout();
    symlinkSync(paths.inbound, join(work, 'notes.db'));
    const turn = sendFileTurn(paths, group, work);

    const result = await callAgentTool(turn, 'send_file', { path: 'notes.db' });

    expect(result.isError).toBe(true);
    expect(result.text).toBe(
      `path 'notes.db' leads outside the folders you may send from (${work}, ${group}); nothing was sent.`,
    );
    expect(readUndelivered(paths)).toEqual([]);
    expect(existsSync(paths.outbox) ? readdirSync(paths.outbox) : []).toEqual([]);
  });
});
