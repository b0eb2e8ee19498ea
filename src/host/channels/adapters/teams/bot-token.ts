// The bot's own token for the Bot Connector: OAuth client credentials (app id + client secret) at the
// token endpoint, kept until shortly before it expires. Concurrent callers share one request.
import { ChannelSendError } from '../../channel.ts';
import { describe } from './errors.ts';
import { deadline } from '../../deadline.ts';

export interface BotTokenOptions {
  tokenUrl: string;
  appId: string;
  appPassword: () => string;
  scope: string;
  timeoutMs: number;
  clock: () => Date;
  signal: () => AbortSignal;
}

/** A token is renewed this long before its expiry. */
const RENEW_BEFORE_MS = 5 * 60 * 1000;
const MAX_TOKEN_CHARS = 16 * 1024;

export interface BotToken {
  /** A valid token (cached, or fetched now). Throws ChannelSendError (auth_failed, transient…). */
  get(): Promise<string>;
  /** Forget the cached token (the connector refused it). */
  drop(): void;
}

export function createBotToken(options: BotTokenOptions): BotToken {
  let cached: { token: string; renewAt: number } | undefined;
  let pending: Promise<string> | undefined;
  return {
    get() {
      if (cached && options.clock().getTime() < cached.renewAt) return Promise.resolve(cached.token);
      pending ??= fetchToken().finally(() => (pending = undefined));
      return pending;
    },
    drop() {
      cached = undefined;
    },
  };

  async function fetchToken(): Promise<string> {
    let response: Response;
    try {
      response = await fetch(options.tokenUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'client_credentials',
          client_id: options.appId,
          client_secret: options.appPassword(),
          scope: options.scope,
        }),
        signal: deadline(options.timeoutMs, options.signal()),
      });
    } catch (error) {
      throw new ChannelSendError('transient', `teams bot token: ${describe(error)}`);
    }
    if (!response.ok) {
      await response.body?.cancel();
      // 400/401 from the token endpoint: a wrong app id or secret (AADSTS7000215 and friends).
      const code = response.status === 429 || response.status >= 500 ? 'transient' : 'auth_failed';
      throw new ChannelSendError(
        code,
        `teams bot token: ${options.tokenUrl} answered HTTP ${response.status}${code === 'auth_failed' ? ' (check appId and the appPassword secret)' : ''}`,
      );
    }
    const body = (await response.json().catch(() => null)) as {
      access_token?: unknown;
      expires_in?: unknown;
    } | null;
    const token = body?.access_token;
    const expiresIn = Number(body?.expires_in);
    if (typeof token !== 'string' || token === '' || token.length > MAX_TOKEN_CHARS || /\s/.test(token)) {
      throw new ChannelSendError(
        'auth_failed',
        'teams bot token: the token endpoint returned no access_token',
      );
    }
    const lifetimeMs = Number.isFinite(expiresIn) && expiresIn > 0 ? expiresIn * 1000 : 60 * 60 * 1000;
    cached = {
      token,
      renewAt: options.clock().getTime() + Math.max(lifetimeMs - RENEW_BEFORE_MS, lifetimeMs / 2),
    };
    return token;
  }
}
