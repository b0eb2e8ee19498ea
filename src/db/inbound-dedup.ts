// Inbound claims: a platform message is routed once even when the platform redelivers it or the
// host crashes mid-way. A claim that was never marked processed is taken over once it is stale.
import type { Db } from './connection.ts';

export interface InboundKey {
  channelType: string;
  /** Which bot/account of that channel received it; '' when the channel has only one. */
  installation?: string;
  platformMessageId: string;
}

export type ClaimResult = 'claimed' | 'duplicate';

/**
 * Claims the message for `token`. 'duplicate' when it was already processed or another claim is
 * younger than staleAfterMs; a stale unprocessed claim (its holder crashed) is taken over.
 */
export function claimInbound(
  db: Db,
  key: InboundKey,
  token: string,
  now: string,
  staleAfterMs: number,
): ClaimResult {
  const staleBefore = new Date(Date.parse(now) - staleAfterMs).toISOString();
  const { changes } = db
    .prepare(
      `INSERT INTO inbound_dedup (channel_type, installation, platform_message_id, claim_token, claimed_at)
       VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (channel_type, installation, platform_message_id) DO UPDATE
         SET claim_token = excluded.claim_token, claimed_at = excluded.claimed_at
         WHERE processed_at IS NULL AND claimed_at <= ?`,
    )
    .run(key.channelType, key.installation ?? '', key.platformMessageId, token, now, staleBefore);
  return changes === 1 ? 'claimed' : 'duplicate';
}

/** Marks a claim processed; false when `token` no longer holds the claim (it went stale and was taken over). */
export function markInboundProcessed(db: Db, key: InboundKey, token: string, now: string): boolean {
  return (
    db
      .prepare(
        `UPDATE inbound_dedup SET processed_at = ?
         WHERE channel_type = ? AND installation = ? AND platform_message_id = ? AND claim_token = ?
           AND processed_at IS NULL`,
      )
      .run(now, key.channelType, key.installation ?? '', key.platformMessageId, token).changes === 1
  );
}

/** Gives a claim back after routing failed, so the platform's (or client's) retry is routed. */
export function releaseInboundClaim(db: Db, key: InboundKey, token: string): boolean {
  return (
    db
      .prepare(
        `DELETE FROM inbound_dedup
         WHERE channel_type = ? AND installation = ? AND platform_message_id = ? AND claim_token = ?
           AND processed_at IS NULL`,
      )
      .run(key.channelType, key.installation ?? '', key.platformMessageId, token).changes === 1
  );
}

/**
 * At start-up no routing is in flight, so every unprocessed claim belongs to a host that died
 * mid-route: drop them all, and a redelivery is routed at once instead of after the stale window.
 */
export function releaseAbandonedClaims(db: Db): number {
  return db.prepare('DELETE FROM inbound_dedup WHERE processed_at IS NULL').run().changes;
}
