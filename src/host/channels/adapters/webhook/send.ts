// One reply piece POSTed to the callback, signed like the inbound side. The webhook-id is the piece's
// nonce, the same on every attempt, so the receiver can drop a retry of a POST it already took; the
// timestamp and signature are fresh each time. Redirects are followed only to the same origin, and only
// those that keep the method and body (307, 308).
import { randomUUID } from 'node:crypto';
import { ChannelSendError } from '../../channel.ts';
import type { OutboundPiece } from '../../platform.ts';
import { networkError, statusError } from './errors.ts';
import { signedHeaders } from './signature.ts';
import { deadline } from '../../deadline.ts';

const MAX_REDIRECTS = 3;
/** The part of an answer read for its `id`; the rest is discarded. */
const MAX_ANSWER_BYTES = 64 * 1024;
const PLATFORM_ID = /^[\x21-\x7e]{1,256}$/;

export interface SendDeps {
  callbackUrl: string;
  key: () => Buffer;
  timeoutMs: number;
  /** Aborted by stop(): a POST in flight ends. */
  stopping: () => AbortSignal;
  clock: () => Date;
}

/** What the callback receives (docs/channels.md, "Signed webhooks"). */
export interface OutboundBody {
  type: 'message';
  id: string;
  chat: { id: string };
  threadId: string | null;
  replyTo: string | null;
  text: string;
  card?: { title: string; body: string };
  buttons?: { label: string; token: string }[];
}

export function outboundBody(piece: OutboundPiece, id: string): OutboundBody {
  return {
    type: 'message',
    id,
    chat: { id: piece.chatId },
    threadId: piece.threadId,
    replyTo: piece.replyTo,
    text: piece.text,
    ...(piece.card && { card: { title: piece.card.title, body: piece.card.body } }),
    ...(piece.buttons && piece.buttons.length > 0 && { buttons: piece.buttons }),
  };
}

export async function postPiece(
  deps: SendDeps,
  piece: OutboundPiece,
): Promise<{ platformMessageId: string }> {
  if (piece.file) throw new ChannelSendError('unsupported', 'the webhook channel carries no files');
  const id = `msg_${piece.nonce ?? randomUUID()}`;
  const body = JSON.stringify(outboundBody(piece, id));
  const answer = await postSigned(deps, id, body);
  return { platformMessageId: answer ?? id };
}

/** POSTs a signed body; resolves with the answer's `id` when it gave one; throws ChannelSendError. */
async function postSigned(deps: SendDeps, id: string, body: string): Promise<string | undefined> {
  let url = new URL(deps.callbackUrl);
  const origin = url.origin;
  for (let hops = 0; ; hops++) {
    let response: Response;
    try {
      response = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'Warren-Webhooks/1',
          ...signedHeaders(deps.key(), id, deps.clock(), body),
        },
        body,
        redirect: 'manual',
        signal: deadline(deps.timeoutMs, deps.stopping()),
      });
    } catch (error) {
      throw networkError(error, `at ${origin}`, deps.timeoutMs);
    }
    if (response.status >= 300 && response.status < 400) {
      await response.body?.cancel();
      const next = redirectTarget(response, url);
      if (next === undefined || next.origin !== origin || hops >= MAX_REDIRECTS) {
        throw new ChannelSendError(
          'invalid_request',
          `webhook callback at ${origin} answered a redirect (HTTP ${response.status}) Warren does not follow: set callbackUrl to where it points`,
        );
      }
      url = next;
      continue;
    }
    if (!response.ok) {
      await response.body?.cancel();
      throw statusError(response.status, response.headers.get('retry-after'), `at ${origin}`, deps.clock());
    }
    return answerId(response);
  }
}

/** A 307/308 keeps the POST and its body; 301/302/303 would turn it into a GET. */
function redirectTarget(response: Response, from: URL): URL | undefined {
  if (response.status !== 307 && response.status !== 308) return undefined;
  const location = response.headers.get('location');
  if (location === null) return undefined;
  try {
    return new URL(location, from);
  } catch {
    return undefined;
  }
}

/** The `id` of a JSON answer such as `{ "id": "..." }`, read from its first 64 KiB; else undefined. */
async function answerId(response: Response): Promise<string | undefined> {
  if (!(response.headers.get('content-type') ?? '').includes('json') || !response.body) {
    await response.body?.cancel();
    return undefined;
  }
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size <= MAX_ANSWER_BYTES) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.length;
    }
  } catch {
    return undefined; // the POST was taken (2xx); only its id is lost
  } finally {
    await reader.cancel().catch(() => {});
  }
  if (size > MAX_ANSWER_BYTES) return undefined;
  try {
    const parsed: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    const given = (parsed as { id?: unknown } | null)?.id;
    return typeof given === 'string' && PLATFORM_ID.test(given) ? given : undefined;
  } catch {
    return undefined;
  }
}
