// Fetching a file a platform told us about. Its URL is hostile input: it is fetched only from an origin
// the installation was configured with (anything else would let a message make the host call an
// internal address, or hand the bot token to a stranger), redirects only within those origins, with a
// timeout, and no more than the size cap is ever read, whatever size the platform declared.
import { deadline } from './deadline.ts';

export type FetchedFile = { ok: true; data: Buffer } | { ok: false; tooLarge: boolean; reason: string };

export interface InboundFileOptions {
  /** Origins (`https://host[:port]`) the file may come from, redirects included. */
  allowedOrigins: ReadonlySet<string>;
  maxBytes: number;
  timeoutMs: number;
  /** Aborted when the adapter stops. */
  signal: AbortSignal;
  /** E.g. the bot token (Slack): sent only to the allowed origins. */
  headers?: Record<string, string>;
}

const MAX_REDIRECTS = 3;

export async function fetchInboundFile(url: string, options: InboundFileOptions): Promise<FetchedFile> {
  const signal = deadline(options.timeoutMs, options.signal);
  let target = url;
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    const origin = originOf(target);
    if (origin === undefined || !options.allowedOrigins.has(origin)) return failed('not from the platform');
    let response: Response;
    try {
      response = await fetch(target, { headers: options.headers, redirect: 'manual', signal });
    } catch {
      return failed(signal.aborted ? 'timed out or stopped' : 'network error');
    }
    const location = response.headers.get('location');
    if (response.status >= 300 && response.status < 400 && location !== null) {
      await response.body?.cancel();
      target = new URL(location, target).href;
      continue;
    }
    if (!response.ok || response.body === null) {
      await response.body?.cancel();
      return failed(`HTTP ${response.status}`);
    }
    if (Number(response.headers.get('content-length') ?? 0) > options.maxBytes) {
      await response.body.cancel();
      return { ok: false, tooLarge: true, reason: `larger than ${options.maxBytes} bytes` };
    }
    return readCapped(response.body, options.maxBytes);
  }
  return failed('too many redirects');
}

/** The URL's origin when it is http(s), else undefined. */
export function originOf(url: string): string | undefined {
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'https:' || parsed.protocol === 'http:' ? parsed.origin : undefined;
  } catch {
    return undefined;
  }
}

/** The line a message's text gains for a file Warren did not take, so the agent knows it existed. */
export function fileNote(name: string, problem: FetchedFile & { ok: false }): string {
  return problem.tooLarge
    ? `[file too large: ${name} (${problem.reason})]`
    : `[file not received: ${name} (${problem.reason})]`;
}

const failed = (reason: string): FetchedFile => ({ ok: false, tooLarge: false, reason });

/** Reads the body, stopping once it passes `cap` bytes. */
async function readCapped(body: ReadableStream<Uint8Array>, cap: number): Promise<FetchedFile> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return { ok: true, data: Buffer.concat(chunks, total) };
      total += value.byteLength;
      if (total > cap) {
        await reader.cancel();
        return { ok: false, tooLarge: true, reason: `larger than ${cap} bytes` };
      }
      chunks.push(value);
    }
  } catch {
    return failed('the download broke off');
  }
}
