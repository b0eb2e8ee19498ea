// Pure: where a group's model calls go and which headers travel with them. The container's headers
// are never trusted: only the provider's allow-listed fields pass, and the host's own key is added.
import type { ModelConfig } from '../../db/agent-groups.ts';
import type { ModelProvider } from '../../db/enums.ts';
import { FORWARDED_HEADERS } from './fence.ts';

export const DEFAULT_BASE_URLS: Record<ModelProvider, string> = {
  claude: 'https://api.anthropic.com',
  openai: 'https://api.openai.com/v1',
};

export const DEFAULT_KEY_NAMES: Record<ModelProvider, string> = {
  claude: 'ANTHROPIC_API_KEY',
  openai: 'OPENAI_API_KEY',
};

const ANTHROPIC_VERSION = '2023-06-01';

export interface Upstream {
  baseUrl: string;
  keyName: string;
  /** The provider's own service, which always needs a key (a local server such as Ollama may not). */
  official: boolean;
}

export function upstreamOf(provider: ModelProvider, config: ModelConfig): Upstream {
  const baseUrl = (config.baseUrl ?? DEFAULT_BASE_URLS[provider]).replace(/\/+$/, '');
  return {
    baseUrl,
    keyName: config.apiKeyName ?? DEFAULT_KEY_NAMES[provider],
    official: new URL(baseUrl).host === new URL(DEFAULT_BASE_URLS[provider]).host,
  };
}

// RFC 9110 §7.6.1 hop-by-hop fields, and fields the HTTP client sets itself for the new connection.
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);
type IncomingHeaders = Record<string, string | string[] | undefined>;

/**
 * Headers for the upstream request: only the provider's allow-listed fields from the client (never a
 * credential, an organisation or project selector, a cookie or a forwarding header), plus the host's
 * key in the provider's form (none when no key is configured, e.g. Ollama).
 * `accept-encoding: identity` keeps the bytes plain so usage can be read as they pass.
 */
export function upstreamHeaders(
  provider: ModelProvider,
  incoming: IncomingHeaders,
  key: string | undefined,
): Record<string, string> {
  const allowed = FORWARDED_HEADERS[provider];
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(incoming)) {
    const lower = name.toLowerCase();
    if (value === undefined || !allowed.has(lower)) continue;
    out[lower] = Array.isArray(value) ? value.join(', ') : value;
  }
  out['accept-encoding'] = 'identity';
  if (provider === 'claude') {
    out['anthropic-version'] ??= ANTHROPIC_VERSION;
    if (key) out['x-api-key'] = key;
  } else if (key) {
    out.authorization = `Bearer ${key}`;
  }
  return out;
}

/**
 * Headers for the client: the upstream response's minus hop-by-hop fields. Length and encoding are
 * dropped too: the body is re-sent as it arrives (chunked) and was already decoded by fetch.
 */
export function downstreamHeaders(upstream: Headers): Record<string, string | string[]> {
  const named = connectionTokens(upstream.get('connection') ?? undefined);
  const out: Record<string, string | string[]> = {};
  upstream.forEach((value, name) => {
    if (HOP_BY_HOP.has(name) || named.has(name) || name === 'content-length' || name === 'content-encoding')
      return;
    if (name === 'set-cookie') return; // fetch joins these; a model API has no business setting cookies
    out[name] = value;
  });
  return out;
}

function connectionTokens(value: string | string[] | undefined): Set<string> {
  const joined = Array.isArray(value) ? value.join(',') : (value ?? '');
  return new Set(
    joined
      .split(',')
      .map((t) => t.trim().toLowerCase())
      .filter(Boolean),
  );
}
