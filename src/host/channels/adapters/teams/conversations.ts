// Where each conversation is served from. Replies and proactive messages go to the service URL of the
// conversation's latest verified activity (it differs by region and can move), kept in the channel's
// state so a restart or a message sent days later still finds it; a bounded cache in front saves reads.
import type { ChannelState } from '../../platform.ts';

const MAX_CACHED = 1000;
const KEY_PREFIX = 'serviceUrl:';
const LATEST = 'serviceUrl';

export interface ServiceUrls {
  /** Remember the service URL a verified activity came with (for its conversation and as the latest). */
  remember(chatId: string, serviceUrl: string): void;
  /** The conversation's service URL; else the latest any activity came with; else the default. */
  of(chatId: string): string | undefined;
}

export function createServiceUrls(state: ChannelState, fallback: string | undefined): ServiceUrls {
  const cache = new Map<string, string>();
  return {
    remember(chatId, serviceUrl) {
      const url = withSlash(serviceUrl);
      if (cache.get(chatId) === url) return;
      // One key per conversation (its base id: threads share it); a conversation id is at most 512 chars.
      if (state.get(KEY_PREFIX + chatId) !== url) state.set(KEY_PREFIX + chatId, url);
      if (state.get(LATEST) !== url) state.set(LATEST, url);
      remembered(chatId, url);
    },
    of(chatId) {
      const cached = cache.get(chatId);
      if (cached !== undefined) return cached;
      const stored = state.get(KEY_PREFIX + chatId);
      if (stored !== undefined) {
        remembered(chatId, stored);
        return stored;
      }
      const latest = state.get(LATEST) ?? fallback;
      return latest === undefined ? undefined : withSlash(latest);
    },
  };

  function remembered(chatId: string, url: string): void {
    cache.delete(chatId);
    if (cache.size >= MAX_CACHED) cache.delete(cache.keys().next().value!);
    cache.set(chatId, url);
  }
}

const withSlash = (url: string) => url.replace(/\/*$/, '/');
