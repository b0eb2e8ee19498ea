// Pure: what the gateway forwards at all. Each provider gets the (method, path) pairs its runner
// client really calls and nothing else: batches, files, fine-tunes and model listings would spend the
// host's key around the model allow-list and the budget, unrecorded. Paths are compared as sent
// (no decoding, no normalising), so `/v1/messages/../files` or `/v1//messages` simply do not match.
import type { ModelProvider } from '../../db/enums.ts';

export interface Route {
  method: 'POST';
  /** Relative to the provider's configured base URL, exactly as the client sends it. */
  path: string;
  /** Query parameters passed on; any other is dropped before the call leaves the host. */
  query: readonly string[];
}

export const ROUTES: Record<ModelProvider, readonly Route[]> = {
  // The Claude Agent SDK's binary sends POST /v1/messages?beta=true; count_tokens is the same API's.
  claude: [
    { method: 'POST', path: '/v1/messages', query: ['beta'] },
    { method: 'POST', path: '/v1/messages/count_tokens', query: ['beta'] },
  ],
  // The base URL carries the version (https://api.openai.com/v1, http://ollama:11434/v1).
  openai: [{ method: 'POST', path: '/chat/completions', query: [] }],
};

/**
 * Request headers passed on (lower case). Credentials are never among them: the host adds its own.
 * Organisation/project selectors, cookies, forwarding and client-fingerprint headers are dropped.
 */
export const FORWARDED_HEADERS: Record<ModelProvider, ReadonlySet<string>> = {
  claude: new Set(['content-type', 'accept', 'user-agent', 'anthropic-version', 'anthropic-beta']),
  openai: new Set(['content-type', 'accept', 'user-agent']),
};

export type FenceDecision = { ok: true; path: string } | { ok: false; message: string };

/** Whether `method` `rawPath` may go upstream; the path to send (query filtered) when it may. */
export function fenceCall(provider: ModelProvider, method: string, rawPath: string): FenceDecision {
  const cut = rawPath.indexOf('?');
  const path = cut === -1 ? rawPath : rawPath.slice(0, cut);
  const route = ROUTES[provider].find((r) => r.method === method && r.path === path);
  if (!route) {
    const allowed = ROUTES[provider].map((r) => `${r.method} ${r.path}`).join(', ');
    return {
      ok: false,
      message:
        `the Warren gateway does not forward ${method} ${path.slice(0, 200)} ` +
        `(provider ${provider} allows only: ${allowed})`,
    };
  }
  if (cut === -1) return { ok: true, path };
  const kept = new URLSearchParams();
  for (const [name, value] of new URLSearchParams(rawPath.slice(cut + 1))) {
    if (route.query.includes(name)) kept.append(name, value);
  }
  const query = kept.toString();
  return { ok: true, path: query ? `${path}?${query}` : path };
}
