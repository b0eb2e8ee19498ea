// The benchmark's web chat users, in a process of their own so that the host's CPU figures are the
// host's alone. The parent sends commands over the IPC channel (see chat-client.ts), a series of
// messages per command so that the host process does no work per message for the benchmark; each
// chat posts over the documented HTTP API (docs/channels.md) and reads its replies from its event stream.
// Plain node:http and a streaming event parser: fetch and web streams cost several ms of CPU a message,
// which on a 2-core machine the host and the runners would miss.
// Times are epoch milliseconds with sub-millisecond resolution (timeOrigin + now), comparable
// across the two processes.
import { Agent, request, type IncomingMessage } from 'node:http';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { createParser } from 'eventsource-parser';
import { withTimeout } from './deadline.ts';

export type LoadCommand =
  | { op: 'open'; req: number; baseUrl: string; chat: string }
  | {
      op: 'send';
      req: number;
      chat: string;
      messages: { id: string; text: string }[];
      pauseMs: number;
      timeoutMs: number;
    }
  | { op: 'close'; chat: string }
  | { op: 'cpu'; req: number };

export type LoadAnswer = Answered | { req: number; ok: false; error: string };
export type Answered = { req: number; ok: true; sent?: SentMessage[]; cpuMs?: number };

export interface SentMessage {
  /** `${sessionId}:${messageOutId}` of the reply (its event id). */
  key: string;
  text: string;
  /** Epoch ms: POST sent, 202 received, reply event read from the stream. */
  sentAt: number;
  acceptedAt: number;
  seenAt: number;
}

interface SeenReply {
  at: number;
  key: string;
  text: string;
}

interface OpenChat {
  baseUrl: string;
  events: IncomingMessage;
  replies: Map<string, SeenReply>;
  waiters: Map<string, (reply: SeenReply) => void>;
}

const now = () => performance.timeOrigin + performance.now();
const chats = new Map<string, OpenChat>();
/** Posts reuse their connections; each event stream has one of its own. */
const posts = new Agent({ keepAlive: true });

process.on('message', (command: LoadCommand) => {
  if (command.op === 'close') {
    chats.get(command.chat)?.events.destroy();
    chats.delete(command.chat);
    return;
  }
  if (command.op === 'cpu') {
    const { user, system } = process.cpuUsage();
    return answer({ req: command.req, ok: true, cpuMs: (user + system) / 1000 });
  }
  const work =
    command.op === 'open' ? open(command.baseUrl, command.chat).then(() => undefined) : sendSeries(command);
  work.then(
    (sent) => answer(sent ? { req: command.req, ok: true, sent } : { req: command.req, ok: true }),
    (err: unknown) =>
      answer({ req: command.req, ok: false, error: err instanceof Error ? err.message : String(err) }),
  );
});
// The parent went away: nothing left to drive.
process.on('disconnect', () => process.exit(0));

function answer(message: LoadAnswer): void {
  process.send!(message);
}

async function open(baseUrl: string, name: string): Promise<void> {
  const events = await new Promise<IncomingMessage>((resolve, reject) => {
    request(`${baseUrl}/webchat/api/events?chat=${encodeURIComponent(name)}`, { agent: false }, resolve)
      .on('error', reject)
      .end();
  });
  if (events.statusCode !== 200) {
    events.destroy();
    throw new Error(`event stream of ${name}: HTTP ${events.statusCode}`);
  }
  const chat: OpenChat = { baseUrl, events, replies: new Map(), waiters: new Map() };
  const parser = createParser({
    onEvent({ event, data }) {
      if ((event ?? 'message') !== 'message') return;
      const reply = JSON.parse(data) as { id: string; inReplyTo: string | null; text: string };
      if (!reply.inReplyTo) return;
      const seen = { at: now(), key: reply.id, text: reply.text };
      chat.replies.set(reply.inReplyTo, seen);
      chat.waiters.get(reply.inReplyTo)?.(seen);
    },
  });
  events.setEncoding('utf8');
  events.on('data', (chunk: string) => parser.feed(chunk));
  events.on('error', () => undefined); // ends with the stream's destruction on close
  chats.set(name, chat);
}

/** The messages one at a time, each after the previous reply and a pause. */
async function sendSeries(command: Extract<LoadCommand, { op: 'send' }>): Promise<SentMessage[]> {
  const chat = chats.get(command.chat);
  if (!chat) throw new Error(`chat ${command.chat} is not open`);
  const sent: SentMessage[] = [];
  for (const { id, text } of command.messages) {
    if (command.pauseMs > 0) await sleep(command.pauseMs);
    sent.push(await send(chat, command.chat, id, text, command.timeoutMs));
  }
  return sent;
}

async function send(
  chat: OpenChat,
  name: string,
  id: string,
  text: string,
  timeoutMs: number,
): Promise<SentMessage> {
  const reply = new Promise<SeenReply>((resolve) => {
    const early = chat.replies.get(id);
    if (early) resolve(early);
    else chat.waiters.set(id, resolve);
  });
  const sentAt = now();
  const body = JSON.stringify({ chat: name, sender: { id: 'bench', name: 'Bench' }, text, id });
  const response = await post(`${chat.baseUrl}/webchat/api/messages`, body);
  const acceptedAt = now();
  if (response.status !== 202)
    throw new Error(`POST ${id} to ${name}: HTTP ${response.status} ${response.text}`);
  const seen = await withTimeout(reply, timeoutMs, `no reply to ${id} in ${name} within ${timeoutMs} ms`);
  chat.waiters.delete(id);
  chat.replies.delete(id);
  return { key: seen.key, text: seen.text, sentAt, acceptedAt, seenAt: seen.at };
}

function post(url: string, body: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: 'POST', agent: posts, headers: { 'content-type': 'application/json' } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}
