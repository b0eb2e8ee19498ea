// grammY's Api client, and the calls the adapter makes outside sending and receiving (who am I, which
// webhook). grammY types its signals with the abort-controller shim's AbortSignal; at run time it only
// listens for 'abort', which Node's own signals fire, so `bounded` hands Node's signal over as that type.
import { Api } from 'grammy';
import { ChannelSendError } from '../../channel.ts';
import { isAuthFailure, toChannelSendError } from './errors.ts';
import type { BotIdentity } from './normalize.ts';
import { deadline } from '../../deadline.ts';

export type ApiSignal = NonNullable<Parameters<Api['getMe']>[0]>;

/** One signal that fires when any of `signals` does, or after `timeoutMs`. */
export function bounded(timeoutMs: number, ...signals: AbortSignal[]): ApiSignal {
  return deadline(timeoutMs, ...signals) as unknown as ApiSignal;
}

export function createApi(token: string, apiRoot: string): Api {
  // No auto-retry transformer: a library retry of a send that reached Telegram posts twice.
  return new Api(token, { apiRoot });
}

/** getMe: the bot's id and username, or `auth_failed` when Telegram refuses the token. */
export async function whoAmI(api: Api, token: string, signal: ApiSignal): Promise<BotIdentity> {
  try {
    const me = await api.getMe(signal);
    if (me.username === undefined)
      throw new ChannelSendError('invalid_request', 'telegram getMe: no username');
    return { id: me.id, username: me.username };
  } catch (error) {
    if (isAuthFailure(error))
      throw new ChannelSendError('auth_failed', 'telegram: the bot token was refused (getMe)');
    throw toChannelSendError(error, token, 'getMe');
  }
}

export async function clearWebhook(api: Api, token: string, signal: ApiSignal): Promise<void> {
  try {
    await api.deleteWebhook({ drop_pending_updates: false }, signal);
  } catch (error) {
    throw toChannelSendError(error, token, 'deleteWebhook');
  }
}
