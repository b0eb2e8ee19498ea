// One REST client for everything the adapter asks of Discord, with the library's own retries off:
// a retried post that had reached Discord posts twice. Rate limits reject (RateLimitError) instead of
// being waited out inside the library, so the machinery's per-chat queue sees and waits them, and
// stop() is never stuck behind one. Every call can be aborted by stop().
import { REST } from 'discord.js';
import { ChannelSendError } from '../../channel.ts';
import { toChannelSendError } from './errors.ts';
import type { RestCall } from './send.ts';

export interface DiscordRest {
  rest: REST;
  /** Runs one request; its failure comes out as a ChannelSendError without the token in it. */
  call: RestCall;
  /** Aborts every request in flight (they fail as `transient`). */
  abortAll(): void;
}

export function createDiscordRest(options: { api: string; token: string; timeoutMs: number }): DiscordRest {
  const { token } = options;
  const rest = new REST({
    api: options.api,
    retries: 0,
    timeout: options.timeoutMs,
    rejectOnRateLimit: () => true,
  });
  const inflight = new Set<AbortController>();

  const call: RestCall = async (what, request) => {
    const controller = new AbortController();
    inflight.add(controller);
    // @discordjs/rest forgets the token after a 401; later calls (a fixed credential, a spurious 401)
    // must still send it.
    rest.setToken(token);
    try {
      return await request(controller.signal);
    } catch (err) {
      throw scrub(toChannelSendError(err, what), token);
    } finally {
      inflight.delete(controller);
    }
  };

  return {
    rest,
    call,
    abortAll() {
      for (const controller of inflight) controller.abort();
    },
  };
}

/** Discord's errors carry no bot token, but a message is never logged with one: scrub to be sure. */
export function scrub(err: ChannelSendError, token: string): ChannelSendError {
  if (!err.message.includes(token)) return err;
  return new ChannelSendError(err.code, err.message.split(token).join('[token]'), err.retryAfterMs);
}
