// Platform delivery ids seen lately (Telegram update_id, Slack event_id…): a redelivered event is
// dropped before any work. Bounded, oldest first out; the durable dedup is the router's claim.
export function createRecentEvents(capacity = 10_000) {
  const seen = new Set<string>();
  return {
    has: (id: string) => seen.has(id),
    add(id: string) {
      seen.delete(id);
      seen.add(id);
      if (seen.size > capacity) seen.delete(seen.values().next().value!);
    },
  };
}
