// An adapter's state (AdapterOptions.state) in memory, for adapter tests without a database.
import type { ChannelState } from '../../src/host/channels/index.ts';

export function memoryChannelState(initial: Record<string, string> = {}): ChannelState & {
  entries: Map<string, string>;
} {
  const entries = new Map(Object.entries(initial));
  return { entries, get: (key) => entries.get(key), set: (key, value) => void entries.set(key, value) };
}
