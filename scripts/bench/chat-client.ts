// One web chat conversation driven over the documented HTTP API (docs/channels.md): POST a message,
// read the reply from the chat's server-sent-event stream, and time both ends.
import { performance } from 'node:perf_hooks';
import { withTimeout } from './deadline.ts';
import { readServerSentEvents } from '../../src/host/channels/sse-reader.ts';

export interface ReplyTiming {
  /** The posted message's id; the reply event's `inReplyTo`. */
  id: string;
  /** `${sessionId}:${messageOutId}` of the reply (its event id). */
  key: string;
  sessionId: string;
  /** Wall clock when the POST was sent, to line up with the timestamps in the session files. */
  sentAtEpochMs: number;
  /** POST sent → 202 received (client side: HTTP + routing + the durable inbound write). */
  acceptedMs: number;
  /** POST sent → the host reports the reply handed to the channel and recorded (onDelivered). */
  deliveredMs: number;
  /** Wall clock of onDelivered. */
  deliveredAtEpochMs: number;
  /** POST sent → the reply event read from the SSE stream (client side). */
  sseMs: number;
  text: string;
}

export interface ChatClient {
  name: string;
  /** Posts one message and resolves once its reply has arrived; one message in flight per chat. */
  send(text: string, timeoutMs?: number): Promise<ReplyTiming>;
  close(): void;
}

type WaitForDelivered = (key: string, timeoutMs: number) => Promise<{ at: number; epochMs: number }>;

interface SseReply {
  at: number;
  key: string;
  text: string;
}

export async function createChatClient(
  baseUrl: string,
  name: string,
  deliveredAt: WaitForDelivered,
): Promise<ChatClient> {
  const abort = new AbortController();
  const replies = new Map<string, SseReply>();
  const waiters = new Map<string, (reply: SseReply) => void>();
  let counter = 0;

  const events = await fetch(`${baseUrl}/webchat/api/events?chat=${encodeURIComponent(name)}`, {
    signal: abort.signal,
  });
  if (events.status !== 200 || !events.body)
    throw new Error(`event stream of ${name}: HTTP ${events.status}`);
  const body = events.body;
  void (async () => {
    for await (const { event, data } of readServerSentEvents(body)) {
      if (event !== 'message') continue;
      const reply = JSON.parse(data) as { id: string; inReplyTo: string | null; text: string };
      if (!reply.inReplyTo) continue;
      const seen = { at: performance.now(), key: reply.id, text: reply.text };
      replies.set(reply.inReplyTo, seen);
      waiters.get(reply.inReplyTo)?.(seen);
    }
  })().catch(() => undefined); // ends with an AbortError on close()

  return { name, send, close: () => abort.abort() };

  async function send(text: string, timeoutMs = 30_000): Promise<ReplyTiming> {
    const id = `${name}-${++counter}`;
    const reply = new Promise<SseReply>((resolve) => {
      const early = replies.get(id);
      if (early) resolve(early);
      else waiters.set(id, resolve);
    });
    const sentAtEpochMs = Date.now();
    const sent = performance.now();
    const response = await fetch(`${baseUrl}/webchat/api/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ chat: name, sender: { id: 'bench', name: 'Bench' }, text, id }),
    });
    const accepted = performance.now();
    if (response.status !== 202) {
      throw new Error(`POST ${id} to ${name}: HTTP ${response.status} ${await response.text()}`);
    }
    await response.arrayBuffer();
    const seen = await withTimeout(reply, timeoutMs, `no reply to ${id} in ${name} within ${timeoutMs} ms`);
    waiters.delete(id);
    const delivered = await deliveredAt(seen.key, timeoutMs);
    return {
      id,
      key: seen.key,
      sessionId: seen.key.slice(0, seen.key.indexOf(':')),
      sentAtEpochMs,
      acceptedMs: accepted - sent,
      deliveredMs: delivered.at - sent,
      deliveredAtEpochMs: delivered.epochMs,
      sseMs: seen.at - sent,
      text: seen.text,
    };
  }
}

/** The scripted provider without a script echoes: anything else means the wrong reply was timed. */
export function expectEcho(reply: ReplyTiming, text: string): ReplyTiming {
  if (reply.text !== `echo: ${text}`) {
    throw new Error(`reply to ${reply.id} was ${JSON.stringify(reply.text)}, expected "echo: ${text}"`);
  }
  return reply;
}
