// What the host does with a session's files after its container ended, against real files.
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { beforeEach, expect, test } from 'vitest';
import {
  ackMessages,
  closeRunnerSession,
  openRunnerSession,
  writeMessagesOut,
} from '../../container/agent-runner/src/db/session.ts';
import {
  createSessionFiles,
  foldAcks,
  insertMessagesIn,
  recordDelivered,
  sessionPaths,
  type SessionPaths,
} from '../../src/host/sessions/index.ts';
import { nextTriggerDue, pruneSessionFiles, recoverAbandonedRows } from '../../src/host/sessions/recovery.ts';

const t = (minute: number) => new Date(Date.UTC(2026, 10, 23, 10, minute)).toISOString();
const chat = (text: string, timestamp = t(0)) => ({
  kind: 'chat' as const,
  timestamp,
  content: { text, sender: { id: 'webchat:ana' }, platformMessageId: `p-${text}` },
});

let paths: SessionPaths;
beforeEach(() => {
  paths = sessionPaths(mkdtempSync(join(tmpdir(), 'warren-recovery-')), 'ag_1', 'ses_1');
  createSessionFiles(paths);
});

const runner = () =>
  openRunnerSession({ sessionId: 'ses_1', inboundPath: paths.inbound, outboundPath: paths.outbound });
/** The runner marks the row `status` at `at`, as a runner does before it dies or after it answers. */
const ackAsRunner = (rowId: string, status: 'processing' | 'completed', at: string) => {
  const r = runner();
  ackMessages(r, [rowId], status, at);
  closeRunnerSession(r);
};
const inboundRows = () => {
  const db = new Database(paths.inbound, { readonly: true });
  const rows = db.prepare('SELECT id, status, tries, process_after FROM messages_in ORDER BY seq').all();
  db.close();
  return rows;
};

test('a row a dead runner had claimed is retried later, then failed at the try limit', () => {
  const [row] = insertMessagesIn(paths, [chat('hello')]);
  ackAsRunner(row!.id, 'processing', t(1));

  expect(recoverAbandonedRows(paths, 2, () => t(5))).toEqual({ retried: 1, failed: [] });
  expect(inboundRows()).toEqual([{ id: row!.id, status: 'pending', tries: 1, process_after: t(5) }]);
  expect(nextTriggerDue(paths, t(2))).toEqual({ due: false, nextAt: t(5) });
  expect(nextTriggerDue(paths, t(5))).toEqual({ due: true, nextAt: null });

  ackAsRunner(row!.id, 'processing', t(5));
  const { failed } = recoverAbandonedRows(paths, 2, () => t(9));
  expect(failed).toEqual([{ id: row!.id, tries: 2, platformMessageId: 'p-hello' }]);
  expect(inboundRows()).toMatchObject([{ status: 'failed', tries: 2 }]);
  expect(nextTriggerDue(paths, t(10)).due).toBe(false);
});

test('rows that were answered are not touched by recovery', () => {
  const [row] = insertMessagesIn(paths, [chat('done')]);
  ackAsRunner(row!.id, 'completed', t(1));
  expect(recoverAbandonedRows(paths, 3, () => t(5))).toEqual({ retried: 0, failed: [] });
  expect(foldAcks(paths)).toBe(1);
  expect(inboundRows()).toMatchObject([{ status: 'completed', tries: 0 }]);
});

test('pruning removes only finished rows older than the cutoff, with their acks, delivered records and inbox files', () => {
  const [oldRow, newRow, waiting] = insertMessagesIn(paths, [
    chat('old', t(0)),
    chat('new', t(30)),
    chat('waiting', t(0)),
  ]);
  const r = runner();
  const [oldReply, newReply] = writeMessagesOut(r, [
    { kind: 'chat', timestamp: t(1), inReplyTo: oldRow!.id, operation: { op: 'send', text: 'a', files: [] } },
    {
      kind: 'chat',
      timestamp: t(31),
      inReplyTo: newRow!.id,
      operation: { op: 'send', text: 'b', files: [] },
    },
  ]);
  ackMessages(r, [oldRow!.id], 'completed', t(1));
  ackMessages(r, [newRow!.id], 'completed', t(31));
  closeRunnerSession(r);
  foldAcks(paths);
  for (const reply of [oldReply!, newReply!]) {
    recordDelivered(paths, {
      messageOutId: reply.id,
      platformMessageId: 'x',
      status: 'delivered',
      deliveredAt: t(2),
    });
  }

  for (const row of [oldRow!, newRow!]) mkdirSync(join(paths.inbox, row.id));
  expect(pruneSessionFiles(paths, t(20))).toEqual({ inbound: 1, outbound: 1 });
  // The files a pruned message carried go with it; the others stay.
  expect([existsSync(join(paths.inbox, oldRow!.id)), existsSync(join(paths.inbox, newRow!.id))]).toEqual([
    false,
    true,
  ]);
  expect(inboundRows().map((row) => (row as { id: string }).id)).toEqual([newRow!.id, waiting!.id]);
  const out = new Database(paths.outbound, { readonly: true });
  expect(out.prepare('SELECT id FROM messages_out').pluck().all()).toEqual([newReply!.id]);
  expect(out.prepare('SELECT message_id FROM processing_ack').pluck().all()).toEqual([newRow!.id]);
  out.close();
  const inbound = new Database(paths.inbound, { readonly: true });
  expect(inbound.prepare('SELECT message_out_id FROM delivered').pluck().all()).toEqual([newReply!.id]);
  inbound.close();
});
