// Measuring what a session's container wrote: real files, symlinks, FIFOs and sparse files.
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { measureDiskUsage, quotaVerdict } from '../../src/host/sessions/index.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'warren-disk-usage-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

test('files in nested folders are counted; a missing folder counts as empty', async () => {
  await mkdir(join(dir, 'a/b/c'), { recursive: true });
  await writeFile(join(dir, 'a/one'), Buffer.alloc(100_000));
  await writeFile(join(dir, 'a/b/c/two'), Buffer.alloc(200_000));
  const usage = await measureDiskUsage([dir, join(dir, 'missing')], 1000);
  expect(usage).toMatchObject({ entries: 5, complete: true, unreadable: 0 });
  expect(usage.bytes).toBeGreaterThanOrEqual(300_000);
  expect(usage.bytes).toBeLessThan(400_000);
});

test('a symlink to a big file or folder outside is counted as a link, never followed', async () => {
  const outside = await mkdtemp(join(tmpdir(), 'warren-disk-usage-outside-'));
  try {
    await writeFile(join(outside, 'big'), Buffer.alloc(5_000_000));
    await symlink(join(outside, 'big'), join(dir, 'to-file'));
    await symlink(outside, join(dir, 'to-folder'));
    await symlink('/', join(dir, 'to-root'));
    const usage = await measureDiskUsage([dir], 1000);
    expect(usage.entries).toBe(3);
    expect(usage.bytes).toBeLessThan(10_000);
  } finally {
    await rm(outside, { recursive: true, force: true });
  }
});

test('a FIFO does not block the walk, and a sparse file counts as big as it claims', async () => {
  execFileSync('mkfifo', [join(dir, 'fifo')]);
  await writeFile(join(dir, 'sparse'), '');
  await truncate(join(dir, 'sparse'), 10 * 2 ** 30);
  const usage = await measureDiskUsage([dir], 1000);
  expect(usage.entries).toBe(2);
  expect(usage.bytes).toBeGreaterThanOrEqual(10 * 2 ** 30);
  expect(quotaVerdict(usage, 2 ** 30)).toMatchObject({ over: true });
});

test('the walk stops at maxEntries, and a session with that many files is over its quota', async () => {
  await Promise.all(Array.from({ length: 300 }, (_, i) => writeFile(join(dir, `f${i}`), 'x')));
  const usage = await measureDiskUsage([dir], 100);
  expect(usage.complete).toBe(false);
  expect(usage.entries).toBeLessThanOrEqual(100 + 16);
  expect(quotaVerdict(usage, 2 ** 30)).toEqual({
    over: true,
    why: expect.stringContaining('files and folders') as unknown as string,
  });
  expect(quotaVerdict(await measureDiskUsage([dir], 1000), 2 ** 30)).toEqual({ over: false });
});
