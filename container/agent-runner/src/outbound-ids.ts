// Ids for one turn's outbound rows. A turn retried after a crash starts from the same first
// message, so the same operation to the same place gets the same id and is stored once.
import { createHash } from 'node:crypto';

export type OutboundIds = (fingerprint: unknown) => string;

/** `turnKey`: the id of the turn's first message. Repeats of one fingerprint get distinct ids. */
export function createOutboundIds(turnKey: string): OutboundIds {
  const seen = new Map<string, number>();
  return (fingerprint) => {
    const key = JSON.stringify(fingerprint);
    const occurrence = (seen.get(key) ?? 0) + 1;
    seen.set(key, occurrence);
    const hash = createHash('sha256').update(`${turnKey}\n${key}\n${occurrence}`).digest('base64url');
    return `out_${hash.slice(0, 24)}`;
  };
}
