// The admin API as the page calls it: the bearer token from this tab's sessionStorage (never a URL or
// a cookie), JSON in and out, and errors as values the panels show.

const TOKEN_KEY = 'warren.dashboard.token';
/** Set when the token came from a one-time link: this tab made it, so signing out may end it. */
const MINTED_KEY = 'warren.dashboard.minted';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export const session = {
  token: (): string | null => sessionStorage.getItem(TOKEN_KEY),
  minted: (): boolean => sessionStorage.getItem(MINTED_KEY) === 'yes',
  save: (token: string, minted = false) => {
    sessionStorage.setItem(TOKEN_KEY, token);
    if (minted) sessionStorage.setItem(MINTED_KEY, 'yes');
    else sessionStorage.removeItem(MINTED_KEY);
  },
  clear: () => {
    sessionStorage.removeItem(TOKEN_KEY);
    sessionStorage.removeItem(MINTED_KEY);
  },
};

export type Api = <T = unknown>(path: string, init?: { method?: string; body?: unknown }) => Promise<T>;

/** Calls /api; on 401 (the token expired or was revoked) `onSignedOut` runs and the call fails. */
export function createApi(onSignedOut: () => void): Api {
  return async <T>(path: string, init: { method?: string; body?: unknown } = {}): Promise<T> => {
    const headers: Record<string, string> = { authorization: `Bearer ${session.token() ?? ''}` };
    if (init.body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(`/api${path}`, {
      method: init.method ?? 'GET',
      headers,
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
      cache: 'no-store',
    });
    const json = (await response.json().catch(() => ({}))) as { error?: string };
    if (response.status === 401) onSignedOut();
    if (!response.ok) {
      const missing = response.status === 404 && json.error?.startsWith('no route');
      throw new ApiError(
        response.status,
        missing
          ? `this host has no ${init.method ?? 'GET'} /api${path.split('?')[0]} yet`
          : (json.error ?? `HTTP ${response.status}`),
      );
    }
    return json as T;
  };
}

/** The rows of a list answer (`{items, nextCursor}`). */
export function itemsOf<T>(answer: unknown): T[] {
  const items = (answer as { items?: unknown } | null)?.items;
  return Array.isArray(items) ? (items as T[]) : [];
}
