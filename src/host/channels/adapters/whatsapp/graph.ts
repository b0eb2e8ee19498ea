// The Graph API over fetch: `{base}/{version}/{path}` with the access token as a bearer, a timeout, no
// redirects and no retries (the machinery retries, knowing what was posted). The token is only ever
// sent to the configured API origin (and, for media downloads, to the allowed media origins).
import { networkError, graphError, type GraphErrorBody } from './errors.ts';
import { deadline } from '../../deadline.ts';

export interface GraphClient {
  /** `https://graph.facebook.com` or a test server; no trailing slash. */
  base: string;
  version: string;
  token: () => string;
  /** Aborted when the adapter stops: nothing in flight outlives it. */
  signal: () => AbortSignal;
}

/** Most a Graph answer may be (a send answers a few hundred bytes). */
const MAX_ANSWER_BYTES = 256 * 1024;

export async function graphCall(
  graph: GraphClient,
  method: 'GET' | 'POST',
  path: string,
  body: Record<string, unknown> | FormData | undefined,
  what: string,
  timeoutMs: number,
): Promise<Record<string, unknown>> {
  const url = `${graph.base}/${graph.version}/${path}`;
  const headers: Record<string, string> = { authorization: `Bearer ${graph.token()}` };
  if (body !== undefined && !(body instanceof FormData)) headers['content-type'] = 'application/json';
  let response: Response;
  try {
    response = await fetch(url, {
      method,
      headers,
      ...(body === undefined ? {} : { body: body instanceof FormData ? body : JSON.stringify(body) }),
      redirect: 'error',
      signal: deadline(timeoutMs, graph.signal()),
    });
  } catch (error) {
    throw networkError(error, what);
  }
  const text = await readText(response).catch((error: unknown) => {
    throw networkError(error, what);
  });
  const parsed = parseObject(text);
  if (!response.ok) {
    throw graphError(
      response.status,
      parsed as GraphErrorBody | undefined,
      response.headers.get('retry-after'),
      what,
    );
  }
  if (parsed === undefined) throw graphError(502, undefined, null, `${what} (answer not JSON)`);
  return parsed;
}

/** The answer's text; '' when it passes the cap (read no further than that). */
async function readText(response: Response): Promise<string> {
  if (response.body === null) return '';
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = response.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return Buffer.concat(chunks, total).toString('utf8');
    total += value.byteLength;
    if (total > MAX_ANSWER_BYTES) {
      await reader.cancel();
      return '';
    }
    chunks.push(value);
  }
}

function parseObject(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}
