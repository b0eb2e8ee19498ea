// Property-based: whatever rows a compromised container writes into messages_out, the host's real
// delivery (real session files, real central database) neither crashes nor stalls, and every row it
// reads is settled: delivered when it is a valid message to its own chat, otherwise failed with a reason.
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { afterAll, expect, test } from 'vitest';
import { startClockedHost, type TestSession } from '../harness/clocked-host.ts';

const host = startClockedHost({ start: '2026-06-01T08:00:00.000Z' });
afterAll(() => host.close());

const RUNS = 10;
const ROWS_PER_RUN = 200;

const text = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.constantFrom('../../..', '..', '/etc/passwd', 'out_ok', 'a/b', '', '\u0000', 'x'.repeat(600)),
);
const deep = fc.integer({ min: 65, max: 100_000 }).map((n) => '['.repeat(n) + ']'.repeat(n));
const operation = fc.oneof(
  fc.record({ op: fc.constant('send'), text: fc.string(), files: fc.array(text, { maxLength: 3 }) }),
  fc.record({ op: fc.constant('send'), text: fc.string(), card: fc.anything() }),
  fc.record({ op: fc.constant('edit'), targetSeq: fc.oneof(fc.integer(), fc.double()), text: fc.anything() }),
  fc.record({ op: fc.constant('react'), targetSeq: fc.integer(), emoji: text }),
  fc.record({
    op: fc.constant('ask'),
    questionId: text,
    question: text,
    options: fc.anything(),
    expiresAt: text,
  }),
  fc.record({
    op: fc.constant('action'),
    action: fc.constantFrom('schedule_task', 'cancel_task', 'install_packages', 'nope'),
    payload: fc.anything(),
  }),
  fc.record({ op: text }),
);
const content = fc.oneof(
  operation.map((o) => JSON.stringify(o)),
  fc.jsonValue().map((v) => JSON.stringify(v)),
  fc.string(),
  deep,
);
/** Mostly distinct (the file's keys would refuse repeats), some of them hostile as they are. */
const id = fc.tuple(text, fc.nat()).map(([t, n]) => (n % 4 === 0 ? t : `${t}${n}`));
const hostileRow = fc.record({
  id,
  seq: fc.oneof(
    { arbitrary: fc.integer({ min: -5, max: 100_000 }), weight: 6 },
    { arbitrary: fc.double(), weight: 1 },
    { arbitrary: fc.string({ maxLength: 5 }), weight: 1 },
  ),
  kind: fc.oneof(fc.constantFrom('chat', 'agent', 'system'), text),
  platform_id: fc.option(text),
  channel_type: fc.option(fc.constantFrom('webchat', 'cli', 'telegram', '')),
  deliver_after: fc.option(fc.constantFrom('2020-01-01T00:00:00Z', 'soon', '9999')),
  content,
});
/** A well-formed reply to its own chat, so the run shows good rows delivered between bad ones. */
const goodRow = fc.record({
  id: fc.stringMatching(/^out_[a-z0-9]{8,20}$/),
  seq: fc.integer({ min: 0, max: 50_000 }).map((n) => 2 * n + 1),
  kind: fc.constant('chat'),
  platform_id: fc.constant(null),
  channel_type: fc.constant(null),
  deliver_after: fc.constant(null),
  content: fc.string({ minLength: 1 }).map((t) => JSON.stringify({ op: 'send', text: t })),
});
const row = fc.oneof({ arbitrary: hostileRow, weight: 4 }, { arbitrary: goodRow, weight: 1 });

/** Writes rows as a container can: its own handle, CHECK constraints off; returns the rows stored. */
function writeRows(s: TestSession, rows: Record<string, unknown>[]): { id: unknown; seq: unknown }[] {
  const db = new Database(s.paths.outbound);
  db.pragma('ignore_check_constraints = ON');
  const insert = db.prepare(`INSERT OR IGNORE INTO messages_out
    (id, seq, timestamp, kind, platform_id, channel_type, deliver_after, content)
    VALUES (@id, @seq, '2026-06-01T08:00:00.000Z', @kind, @platform_id, @channel_type, @deliver_after, @content)`);
  db.transaction(() => rows.forEach((r) => insert.run(r)))();
  const stored = db.prepare('SELECT id, seq FROM messages_out').all() as { id: unknown; seq: unknown }[];
  db.close();
  return stored;
}

test(`${RUNS * ROWS_PER_RUN} generated malformed outbound rows: no crash, each read row settled with a reason`, async () => {
  let rows = 0;
  let storedRows = 0;
  let delivered = 0;
  let failed = 0;
  let unread = 0;
  await fc.assert(
    fc.asyncProperty(
      fc.array(row, { minLength: ROWS_PER_RUN, maxLength: ROWS_PER_RUN }),
      async (generated) => {
        const s = host.session();
        const stored = writeRows(s, generated);
        rows += generated.length;
        storedRows += stored.length;
        await host.delivery.deliverSession(s.session.id);
        const sessionFile = new Database(s.paths.inbound, { readonly: true });
        const settled = new Map(
          (
            sessionFile.prepare('SELECT message_out_id, status FROM delivered').all() as {
              message_out_id: string;
              status: string;
            }[]
          ).map((r) => [r.message_out_id, r.status]),
        );
        sessionFile.close();
        const reasons = new Map(
          (
            host.db
              .prepare(
                "SELECT message_out_id, error FROM delivery_attempts WHERE session_id = ? AND status = 'failed'",
              )
              .all(s.session.id) as { message_out_id: string; error: string }[]
          ).map((r) => [r.message_out_id, r.error]),
        );
        for (const r of stored) {
          const readable = Number.isSafeInteger(r.seq) && (r.seq as number) > 0;
          if (!readable) {
            unread++;
            continue;
          }
          const key = typeof r.id === 'string' && /^[A-Za-z0-9_-]{1,128}$/.test(r.id) ? r.id : `seq_${r.seq}`;
          const status = settled.get(key);
          expect(status, `row ${String(r.seq)} (${String(r.id).slice(0, 40)}) is settled`).toBeDefined();
          if (status === 'delivered') delivered++;
          else failed++;
          // Rows the scheduler handles record their refusal in the agent's inbound; every other failure
          // keeps its reason with the delivery attempt.
          if (status === 'failed' && reasons.has(key)) expect(reasons.get(key)!.length).toBeGreaterThan(0);
        }
      },
    ),
    { numRuns: RUNS, seed: 20261205, endOnFailure: true },
  );
  console.log(
    JSON.stringify({ outboundFuzz: { rows, storedRows, delivered, failed, unreadNonIntegerSeq: unread } }),
  );
  expect(rows).toBe(RUNS * ROWS_PER_RUN);
  expect(delivered).toBeGreaterThan(0);
  expect(failed).toBeGreaterThan(0);
}, 120_000);
