// The `cli` channel: the web chat transport under the type `cli`, mounted at /cli. `warren chat`
// (src/host/cli/chat.ts) talks to it, so terminal conversations are routed and wired on their own.
import { createWebchatChannel } from './webchat/index.ts';
import type { WebchatChannel, WebchatOptions } from './webchat/index.ts';

/** Every request must carry the install secret (`operatorSecret`): only the operator's account can read it. */
export function createCliChannel(
  options: Omit<WebchatOptions, 'type' | 'auth' | 'operatorSecret'> & { operatorSecret: string },
): WebchatChannel {
  return createWebchatChannel({ ...options, type: 'cli' });
}
