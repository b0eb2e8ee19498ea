// The gateway link, on @discordjs/ws (discord.js's own gateway layer) without discord.js's caching
// Client: dispatches arrive as raw JSON that the adapter validates itself, heartbeat acks prove
// liveness, and the session (id, resume URL, last sequence) outlives the link, so a restart RESUMEs and
// Discord replays what was dispatched while the adapter was away.
import {
  CloseCodes,
  SimpleContextFetchingStrategy,
  WebSocketManager,
  WebSocketShard,
  WebSocketShardEvents,
  managerToFetchingStrategyOptions,
  type IShardingStrategy,
  type SessionInfo,
  type WebSocketShardDestroyOptions,
} from '@discordjs/ws';
import { GatewayIntentBits, type GatewaySendPayload, type REST } from 'discord.js';
import { ChannelSendError } from '../../channel.ts';

export const INTENTS =
  GatewayIntentBits.Guilds |
  GatewayIntentBits.GuildMessages |
  GatewayIntentBits.DirectMessages |
  GatewayIntentBits.MessageContent;

/** Close codes after which Discord will not take this bot back without a change of configuration. */
const REFUSALS: Record<number, { code: 'auth_failed' | 'forbidden' | 'invalid_request'; why: string }> = {
  4004: { code: 'auth_failed', why: 'the bot token was refused' },
  4010: { code: 'invalid_request', why: 'invalid shard' },
  4011: { code: 'invalid_request', why: 'sharding required' },
  4012: { code: 'invalid_request', why: 'invalid API version' },
  4013: { code: 'invalid_request', why: 'invalid intents' },
  4014: {
    code: 'forbidden',
    why: 'disallowed intents: enable the Message Content intent for this bot in the Discord developer portal',
  },
};

/** The gateway closed for good: a configuration problem, not a network one. */
export class GatewayRefusedError extends ChannelSendError {
  constructor(readonly closeCode: number) {
    const refusal = REFUSALS[closeCode]!;
    super(refusal.code, `Discord closed the gateway with ${closeCode}: ${refusal.why}`);
  }
}

/** A dispatch as it came off the socket: `d` is unchecked JSON. */
export interface RawDispatch {
  t: string;
  s: number;
  d: unknown;
  /** The gateway session it came on: sequence numbers start again at 1 in every new session. */
  session: string;
}

export interface GatewayHandlers {
  dispatch(event: RawDispatch): void;
  /** A heartbeat was acknowledged, the session became ready or resumed. */
  alive(): void;
  /** The socket closed; @discordjs/ws reconnects (and resumes) by itself. */
  closed(code: number): void;
  /** Discord closed the gateway for good (bad token, disallowed intents): no reconnect follows. */
  refused(err: GatewayRefusedError): void;
  error(err: unknown): void;
}

export interface GatewayLink {
  stop(): Promise<void>;
}

/** Sessions per shard, kept by the adapter across links. */
export type SessionStore = Map<number, SessionInfo>;

export async function openGateway(options: {
  token: string;
  rest: REST;
  sessions: SessionStore;
  handlers: GatewayHandlers;
}): Promise<{ link: GatewayLink; connected: Promise<void> }> {
  const { sessions, handlers } = options;
  let stopped = false;
  let strategy: StoppableShards | undefined;
  const manager = new WebSocketManager({
    token: options.token,
    intents: INTENTS,
    rest: options.rest,
    // A stopped link must not resume the session its successor uses, nor overwrite it.
    retrieveSessionInfo: (shardId) => (stopped ? null : (sessions.get(shardId) ?? null)),
    updateSessionInfo: (shardId, info) => {
      if (stopped) return;
      if (info) sessions.set(shardId, info);
      else sessions.delete(shardId);
    },
    buildStrategy: (m) => (strategy = new StoppableShards(m)),
  });
  manager.on(WebSocketShardEvents.Dispatch, ({ data, shardId }) =>
    handlers.dispatch({
      ...(data as Omit<RawDispatch, 'session'>),
      session: sessions.get(shardId)?.sessionId ?? '',
    }),
  );
  manager.on(WebSocketShardEvents.HeartbeatComplete, () => handlers.alive());
  manager.on(WebSocketShardEvents.Ready, () => handlers.alive());
  manager.on(WebSocketShardEvents.Resumed, () => handlers.alive());
  let refuse: (err: GatewayRefusedError) => void = () => undefined;
  const refused = new Promise<never>((_, reject) => (refuse = reject));
  manager.on(WebSocketShardEvents.Closed, ({ code }) => {
    if (!(code in REFUSALS)) return handlers.closed(code);
    const err = new GatewayRefusedError(code);
    refuse(err);
    handlers.refused(err);
  });
  manager.on(WebSocketShardEvents.Error, ({ error }) => handlers.error(error));

  const link: GatewayLink = {
    async stop() {
      if (stopped) return;
      stopped = true;
      manager.removeAllListeners();
      // 4200 (not 1000): Discord keeps a session closed with any other code than 1000/1001 resumable.
      await strategy?.stop({ code: CloseCodes.Resuming, reason: 'Warren is restarting the link' });
    },
  };
  return { link, connected: Promise.race([manager.connect(), refused]) };
}

/**
 * SimpleShardingStrategy that can be stopped for good. @discordjs/ws reconnects a shard 500 ms after
 * a drop; destroying it during that pause is a no-op, and the shard would come back as a ghost with
 * nobody listening. After stop() this strategy keeps its shards and closes any that wakes up again. (Destroying earlier, mid-handshake, would make the shard schedule yet another reconnect.)
 */
class StoppableShards implements IShardingStrategy {
  readonly #shards = new Map<number, WebSocketShard>();
  #stopped = false;

  constructor(private readonly manager: WebSocketManager) {}

  async spawn(shardIds: number[]): Promise<void> {
    const options = await managerToFetchingStrategyOptions(this.manager);
    for (const shardId of shardIds) {
      const shard = new WebSocketShard(new SimpleContextFetchingStrategy(this.manager, options), shardId);
      for (const event of Object.values(WebSocketShardEvents)) {
        shard.on(event, (payload: object) => this.#forward(shard, shardId, event, payload));
      }
      this.#shards.set(shardId, shard);
    }
  }

  #forward(shard: WebSocketShard, shardId: number, event: WebSocketShardEvents, payload: object): void {
    if (!this.#stopped) {
      const emit = this.manager.emit.bind(this.manager) as (event: string, payload: object) => boolean;
      emit(event, { ...payload, shardId });
      return;
    }
    // A ghost: close it once the handshake step that woke it has settled (HELLO's wait is over, so
    // destroy() aborts no pending wait, and a pending wait's abort is what would schedule a reconnect).
    const settled = [WebSocketShardEvents.Hello, WebSocketShardEvents.Ready, WebSocketShardEvents.Resumed];
    if (settled.includes(event)) {
      setImmediate(() => void shard.destroy({ code: CloseCodes.Normal, reason: 'link stopped' }));
    }
  }

  async connect(): Promise<void> {
    await Promise.all([...this.#shards.values()].map((shard) => shard.connect()));
  }

  /** The manager calls this before (re)spawning shards too; only stop() is for good. */
  async destroy(options?: Omit<WebSocketShardDestroyOptions, 'recover'>): Promise<void> {
    await Promise.all([...this.#shards.values()].map((shard) => shard.destroy(options)));
    this.#shards.clear();
  }

  async stop(options: Omit<WebSocketShardDestroyOptions, 'recover'>): Promise<void> {
    this.#stopped = true;
    await Promise.all([...this.#shards.values()].map((shard) => shard.destroy(options)));
  }

  async send(shardId: number, payload: GatewaySendPayload): Promise<void> {
    const shard = this.#shards.get(shardId);
    if (!shard) throw new RangeError(`shard ${shardId} not found`);
    await shard.send(payload);
  }

  async fetchStatus(): Promise<Awaited<ReturnType<IShardingStrategy['fetchStatus']>>> {
    // Unused by Warren; the manager's own status API is the only caller.
    throw new Error('fetchStatus is not supported by this strategy');
  }
}
