// The host's heartbeat: after a sweep pass, at most every `everyMs`, the host writes what `warren status`
// shows without asking it (docs/operations.md): when it last swept and how long that took, the pool, and
// each channel's health. A beat older than a few sweep intervals means the host stopped or stalled.
import type { Db } from '../db/connection.ts';
import { writeHeartbeat } from '../db/host-heartbeat.ts';
import type { ChannelHealth } from './channels/index.ts';

export interface HeartbeatDeps {
  db: Db;
  clock: () => Date;
  sweepIntervalMs: number;
  containers: () => { running: number; queued: number };
  channels: () => Record<string, ChannelHealth>;
  /** Fewest milliseconds between two writes (default 5 s). */
  everyMs?: number;
}

export function createHeartbeat(deps: HeartbeatDeps) {
  const startedAt = deps.clock().toISOString();
  const everyMs = deps.everyMs ?? 5_000;
  let lastBeat = -Infinity;

  return {
    /** Records a beat unless one was written less than `everyMs` ago. */
    beat(sweepMs: number): void {
      const now = deps.clock();
      if (now.getTime() - lastBeat < everyMs) return;
      lastBeat = now.getTime();
      writeHeartbeat(deps.db, {
        pid: process.pid,
        startedAt,
        beatAt: now.toISOString(),
        sweepMs: Math.round(sweepMs * 10) / 10,
        sweepIntervalMs: deps.sweepIntervalMs,
        containers: deps.containers(),
        channels: deps.channels(),
      });
    },
  };
}
