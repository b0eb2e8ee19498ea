// The running host's last heartbeat: one row, replaced by each beat (src/host/heartbeat.ts).
import { z } from 'zod';
import type { Db } from './connection.ts';

const health = z.object({
  connected: z.boolean(),
  lastInboundAt: z.string().nullable(),
  lastOutboundAt: z.string().nullable(),
  lastError: z.string().nullable(),
});

/** What the host says of itself in each beat. */
export const heartbeatDocument = z.object({
  /** How long the last sweep pass took. */
  sweepMs: z.number(),
  sweepIntervalMs: z.number(),
  containers: z.object({ running: z.number(), queued: z.number() }),
  channels: z.record(z.string(), health),
});
export type HeartbeatDocument = z.infer<typeof heartbeatDocument>;

export interface Heartbeat extends HeartbeatDocument {
  pid: number;
  startedAt: string;
  beatAt: string;
}

export function writeHeartbeat(db: Db, beat: Heartbeat): void {
  const { pid, startedAt, beatAt, ...document } = beat;
  db.prepare(
    `INSERT INTO host_heartbeat (id, pid, started_at, beat_at, document) VALUES (1, ?, ?, ?, ?)
     ON CONFLICT (id) DO UPDATE SET pid = excluded.pid, started_at = excluded.started_at,
       beat_at = excluded.beat_at, document = excluded.document`,
  ).run(pid, startedAt, beatAt, JSON.stringify(document));
}

/** The last beat; undefined when no host ever ran here, or what it wrote cannot be read. */
export function readHeartbeat(db: Db): Heartbeat | undefined {
  const row = db
    .prepare('SELECT pid, started_at, beat_at, document FROM host_heartbeat WHERE id = 1')
    .get() as { pid: number; started_at: string; beat_at: string; document: string } | undefined;
  if (!row) return undefined;
  const document = heartbeatDocument.safeParse(JSON.parse(row.document));
  if (!document.success) return undefined;
  return { pid: row.pid, startedAt: row.started_at, beatAt: row.beat_at, ...document.data };
}
