// The channels the host runs, by type: one place to connect, disconnect and ask for health.
import type { Channel, ChannelHealth, InboundSink } from './channel.ts';

export interface ChannelRegistry {
  /** Adds a channel; a second channel of the same type is refused. */
  register(channel: Channel): void;
  /** The channel of this type; throws UnknownChannelError when none is registered. */
  get(type: string): Channel;
  list(): Channel[];
  /** Connects every channel; throws ChannelConnectionError naming each one that failed. */
  connectAll(sink: InboundSink): Promise<void>;
  /** Disconnects every channel, even when some fail; then throws ChannelConnectionError if any did. */
  disconnectAll(): Promise<void>;
  health(): Record<string, ChannelHealth>;
}

export class UnknownChannelError extends Error {
  override name = 'UnknownChannelError';
  constructor(
    readonly type: string,
    known: string[],
  ) {
    super(`no channel of type "${type}" is registered (registered: ${known.join(', ') || 'none'})`);
  }
}

export class ChannelConnectionError extends Error {
  override name = 'ChannelConnectionError';
  constructor(
    readonly action: 'connect' | 'disconnect',
    readonly failures: { type: string; error: unknown }[],
  ) {
    const list = failures.map(
      (f) => `${f.type} (${f.error instanceof Error ? f.error.message : String(f.error)})`,
    );
    super(`${failures.length} channel(s) failed to ${action}: ${list.join('; ')}`);
  }
}

export function createChannelRegistry(): ChannelRegistry {
  const channels = new Map<string, Channel>();

  return {
    register(channel) {
      if (channels.has(channel.type)) {
        throw new Error(
          `a channel of type "${channel.type}" is already registered; each type is registered once`,
        );
      }
      channels.set(channel.type, channel);
    },
    get(type) {
      const channel = channels.get(type);
      if (!channel) throw new UnknownChannelError(type, [...channels.keys()]);
      return channel;
    },
    list: () => [...channels.values()],
    connectAll: (sink) => forEachChannel('connect', (channel) => channel.connect(sink)),
    disconnectAll: () => forEachChannel('disconnect', (channel) => channel.disconnect()),
    health: () => Object.fromEntries([...channels].map(([type, channel]) => [type, channel.health()])),
  };

  /** Runs the action on every channel at once; one channel failing does not stop the others. */
  async function forEachChannel(
    action: 'connect' | 'disconnect',
    run: (channel: Channel) => Promise<void>,
  ): Promise<void> {
    const list = [...channels.values()];
    const results = await Promise.allSettled(list.map(async (channel) => run(channel)));
    const failures = results.flatMap((result, i) =>
      result.status === 'rejected' ? [{ type: list[i]!.type, error: result.reason as unknown }] : [],
    );
    if (failures.length > 0) throw new ChannelConnectionError(action, failures);
  }
}
