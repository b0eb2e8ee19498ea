// The files a message carries, from the session's outbox (out/outbox/<id>/): copied where the container
// cannot reach them before the send, removed from the outbox once the message is delivered.
import type { SendOutcome } from './attempt.ts';
import {
  removeOutboxFolder,
  stageOutboxFiles,
  type OutboundRow,
  type SessionPaths,
} from '../sessions/index.ts';

export type StagedFile = { name: string; path: string };

/**
 * Runs `send` with copies of the row's files; a file that cannot be staged fails the send with the
 * reason. The copies are removed afterwards, whatever happened.
 */
export async function withStagedFiles(
  paths: SessionPaths,
  row: OutboundRow,
  send: (files: StagedFile[]) => Promise<SendOutcome>,
): Promise<SendOutcome> {
  if (row.op?.op !== 'send') return send([]);
  const staged = await stageOutboxFiles(paths, row.id, row.op.files);
  if (!staged.ok) return { ok: false, code: staged.code, error: staged.error };
  try {
    return await send(staged.files);
  } finally {
    await staged.release();
  }
}

/**
 * After delivery: the row's outbox folder is no longer needed. Only a message that carried files has
 * one; the others skip the three file-system round trips (which queue behind every other session's
 * file work when many deliver at once).
 */
export function removeDeliveredFiles(paths: SessionPaths, row: OutboundRow): Promise<void> {
  if (row.op?.op !== 'send' || row.op.files.length === 0) return Promise.resolve();
  return removeOutboxFolder(paths, row.id);
}
