// The `cli` channel: the web chat transport under the type `cli`, mounted at /cli. `warren chat`
// (src/host/cli/chat.ts) talks to it, so terminal conversations are routed and wired on their own.
import { createWebchatChannel } from './webchat.ts';
import type { WebchatChannel, WebchatOptions } from './webchat.ts';

export function createCliChannel(options: Omit<WebchatOptions, 'type'>): WebchatChannel {
  return createWebchatChannel({ ...options, type: 'cli' });
}
