import { describe, expect, it } from 'vitest';
import { cpuCounterOf, cpuDelta, cpuMsOf, machineBusyMsOf } from '../../scripts/bench/container-cpu.ts';
import { summarizeProfile, type CpuProfile } from '../../scripts/bench/cpu-profile.ts';
import { endedWithCommit } from '../../scripts/bench/sqlite-commits.ts';
import { countSqliteSyscalls, sqliteFileOf } from '../../scripts/bench/sqlite-syscalls.ts';

describe('container CPU from cgroups', () => {
  it('reads the v1 cpuacct counter on a hybrid host, in ns', () => {
    const text = [
      '2:cpuacct:/libpod_parent/libpod-abc',
      '1:cpu:/libpod_parent/libpod-abc',
      '0::/libpod_parent/libpod-abc',
    ].join('\n');
    const counter = cpuCounterOf(text, '/nowhere');
    expect(counter).toEqual({ version: 1, file: '/nowhere/cpuacct/libpod_parent/libpod-abc/cpuacct.usage' });
    expect(cpuMsOf(counter!, '2500000\n')).toBe(2.5);
  });

  it('reads the v2 cpu.stat counter, in µs', () => {
    const counter = cpuCounterOf('0::/machine.slice/libpod-abc.scope\n', '/nowhere');
    expect(counter).toEqual({ version: 2, file: '/nowhere/machine.slice/libpod-abc.scope/cpu.stat' });
    expect(cpuMsOf(counter!, 'usage_usec 1500\nuser_usec 1000\n')).toBe(1.5);
  });

  it('sums only containers seen at both ends', () => {
    const before = new Map([
      ['a', 100],
      ['b', 50],
    ]);
    const after = new Map([
      ['a', 130],
      ['c', 999],
    ]);
    expect(cpuDelta(before, after)).toEqual({ ms: 30, containers: 1 });
  });

  it("counts the machine's busy time from /proc/stat, idle and iowait left out", () => {
    // user nice system idle iowait irq softirq steal guest guest_nice, in 10 ms ticks
    const stat = 'cpu  100 5 40 9000 30 2 3 0 0 0\ncpu0 50 2 20 4500 15 1 2 0 0 0\n';
    expect(machineBusyMsOf(stat)).toBe((100 + 5 + 40 + 2 + 3) * 10);
    expect(() => machineBusyMsOf('intr 1 2 3\n')).toThrow(/cpu line/);
  });
});

describe('SQLite syscalls from strace', () => {
  it('tells the session files, the central DB and their side files apart', () => {
    expect(sqliteFileOf('/d/sessions/g/s/in/inbound.db-journal')).toBe('inbound');
    expect(sqliteFileOf('/workspace/out/outbound.db')).toBe('outbound');
    expect(sqliteFileOf('/d/warren.db-wal')).toBe('central');
    expect(sqliteFileOf('/d/other.sqlite')).toBe('other');
  });

  it('counts opens, journal commits and fsyncs once each, split calls included', () => {
    const trace = [
      '101 openat(AT_FDCWD, "/s/in/inbound.db", O_RDWR|O_CREAT|O_CLOEXEC, 0644) = 21</s/in/inbound.db>',
      '101 openat(AT_FDCWD, "/s/in/inbound.db-journal", O_RDWR|O_CREAT|O_CLOEXEC, 0644) = 22</s/in/inbound.db-journal>',
      '101 fdatasync(22</s/in/inbound.db-journal> <unfinished ...>',
      '102 openat(AT_FDCWD, "/app/node_modules/x.js", O_RDONLY) = 23</app/node_modules/x.js>',
      '101 <... fdatasync resumed>) = 0',
      '101 openat(AT_FDCWD, "/s/in", O_RDONLY|O_CLOEXEC) = 24</s/in>',
      '101 fdatasync(24</s/in>) = 0',
      '101 fsync(21</s/in/inbound.db>) = 0',
      '101 unlink("/s/in/inbound.db-journal") = 0',
      '101 openat(AT_FDCWD, "/s/out/outbound.db", O_RDONLY|O_CLOEXEC) = -1 ENOENT (No such file or directory)',
      '101 openat(AT_FDCWD, "/d/warren.db", O_RDWR|O_CLOEXEC) = 25</d/warren.db>',
      '101 fsync(26</d/warren.db-wal>) = 0',
    ].join('\n');
    expect(countSqliteSyscalls(trace)).toEqual({
      opens: { inbound: 1, outbound: 0, central: 1, other: 0 },
      journal_commits: { inbound: 1, outbound: 0, central: 0, other: 0 },
      fsyncs: { inbound: 3, outbound: 0, central: 1, other: 0 },
    });
  });
});

describe('commits seen by the statement wrapper', () => {
  const write = { readonly: false, source: 'INSERT INTO t VALUES (1)' };
  it('counts an autocommit write and a transaction closed by COMMIT', () => {
    expect(endedWithCommit(write, false, false)).toBe(true);
    expect(endedWithCommit({ readonly: false, source: 'COMMIT' }, true, false)).toBe(true);
  });
  it('does not count reads, writes inside a transaction, a rollback or a pragma', () => {
    expect(endedWithCommit({ readonly: true, source: 'SELECT 1' }, false, false)).toBe(false);
    expect(endedWithCommit(write, true, true)).toBe(false);
    expect(endedWithCommit({ readonly: false, source: 'BEGIN' }, false, true)).toBe(false);
    expect(endedWithCommit({ readonly: false, source: ' rollback' }, true, false)).toBe(false);
    expect(endedWithCommit({ readonly: false, source: 'PRAGMA journal_mode = DELETE' }, false, false)).toBe(
      false,
    );
  });
});

describe('CPU profile summary', () => {
  const frame = (functionName: string, url: string) => ({ functionName, url, lineNumber: 0 });
  const profile: CpuProfile = {
    nodes: [
      { id: 1, callFrame: frame('(root)', '') },
      { id: 2, callFrame: frame('(idle)', '') },
      { id: 3, callFrame: frame('deliver', 'file:///repo/src/host/delivery.ts') },
      { id: 4, callFrame: frame('deliver', 'file:///repo/src/host/delivery.ts') },
      { id: 5, callFrame: frame('', 'file:///repo/node_modules/pino/lib/tools.js') },
    ],
    startTime: 0,
    endTime: 10_000,
    samples: [3, 2, 4, 5, 3],
    // µs before each sample; a sample weighs the time until the next one.
    timeDeltas: [0, 1000, 5000, 2000, 1000],
  };

  it('sums self time by function and file, largest first, with shares of the whole duration', () => {
    const summary = summarizeProfile(profile, 15, '/repo');
    expect(summary.duration_ms).toBe(10);
    expect(summary.samples).toBe(5);
    expect(summary.top_self).toEqual([
      { function: '(idle)', file: '', self_ms: 5, share: 0.5 },
      { function: 'deliver', file: 'src/host/delivery.ts', self_ms: 3, share: 0.3 },
      { function: '(anonymous)', file: 'node_modules/pino/lib/tools.js', self_ms: 1, share: 0.1 },
    ]);
    expect(summary.busy_ms).toBe(4);
  });

  it('keeps only the top entries', () => {
    expect(summarizeProfile(profile, 1).top_self.map((e) => e.function)).toEqual(['(idle)']);
  });
});
