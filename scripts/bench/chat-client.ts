// Web chat conversations for the benchmark. The HTTP clients run in a process of their own
// (load-generator.ts), so the host process's CPU time is the host's alone; this side matches each
// reply with the host's own record of delivering it.
import { fork, type ChildProcess } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import type { Answered, LoadAnswer, LoadCommand, SentMessage } from './load-generator.ts';

const LOAD_GENERATOR = fileURLToPath(new URL('./load-generator.ts', import.meta.url));

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
  /** Posts the texts one at a time, each `pauseMs` after the previous reply (one request to the client process). */
  sendSeries(texts: readonly string[], opts: { pauseMs: number; timeoutMs: number }): Promise<ReplyTiming[]>;
  close(): void;
}

/** When the host reported a delivery: `at` in this process's performance.now(), `epochMs` from Date.now(). */
type WaitForDelivered = (key: string, timeoutMs: number) => Promise<{ at: number; epochMs: number }>;

export interface LoadGenerator {
  chat(name: string): Promise<ChatClient>;
  /** CPU ms the client process has used so far. */
  cpuMs(): Promise<number>;
  stop(): void;
}

/** Starts the client process; its chats talk to the host at `baseUrl`. */
export function startLoadGenerator(baseUrl: string, deliveredAt: WaitForDelivered): LoadGenerator {
  const child: ChildProcess = fork(LOAD_GENERATOR, [], { execArgv: ['--import', 'tsx'], stdio: 'inherit' });
  const pending = new Map<number, { resolve: (answer: Answered) => void; reject: (err: Error) => void }>();
  let nextReq = 0;
  let exited: Error | undefined;
  child.on('message', (answer: LoadAnswer) => {
    const waiter = pending.get(answer.req);
    pending.delete(answer.req);
    if (answer.ok) waiter?.resolve(answer);
    else waiter?.reject(new Error(answer.error));
  });
  child.on('exit', (code, signal) => {
    exited = new Error(`the load generator exited (${signal ?? code})`);
    for (const waiter of pending.values()) waiter.reject(exited);
    pending.clear();
  });

  return {
    async chat(name) {
      await request({ op: 'open', baseUrl, chat: name });
      return chatClient(name);
    },
    cpuMs: async () => (await request({ op: 'cpu' })).cpuMs!,
    stop: () => child.kill(),
  };

  function request(command: DistributiveOmit<LoadCommand, 'req'>): Promise<Answered> {
    if (exited) return Promise.reject(exited);
    const req = ++nextReq;
    return new Promise((resolve, reject) => {
      pending.set(req, { resolve, reject });
      child.send({ ...command, req });
    });
  }

  function chatClient(name: string): ChatClient {
    let counter = 0;
    const client: ChatClient = {
      name,
      close: () => {
        if (!exited) child.send({ op: 'close', chat: name } satisfies LoadCommand);
      },
      send: async (text, timeoutMs = 30_000) =>
        (await client.sendSeries([text], { pauseMs: 0, timeoutMs }))[0]!,
      async sendSeries(texts, { pauseMs, timeoutMs }) {
        const messages = texts.map((text) => ({ id: `${name}-${++counter}`, text }));
        const { sent } = await request({ op: 'send', chat: name, messages, pauseMs, timeoutMs });
        return Promise.all(sent!.map((s, i) => timing(messages[i]!.id, s, timeoutMs)));
      },
    };
    return client;
  }

  /** The client's times and the host's record of delivering the reply, on one clock. */
  async function timing(id: string, sent: SentMessage, timeoutMs: number): Promise<ReplyTiming> {
    const delivered = await deliveredAt(sent.key, timeoutMs);
    const deliveredAtEpoch = performance.timeOrigin + delivered.at;
    return {
      id,
      key: sent.key,
      sessionId: sent.key.slice(0, sent.key.indexOf(':')),
      sentAtEpochMs: sent.sentAt,
      acceptedMs: sent.acceptedAt - sent.sentAt,
      deliveredMs: deliveredAtEpoch - sent.sentAt,
      deliveredAtEpochMs: delivered.epochMs,
      sseMs: sent.seenAt - sent.sentAt,
      text: sent.text,
    };
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** The scripted provider without a script echoes: anything else means the wrong reply was timed. */
export function expectEcho(reply: ReplyTiming, text: string): ReplyTiming {
  if (reply.text !== `echo: ${text}`) {
    throw new Error(`reply to ${reply.id} was ${JSON.stringify(reply.text)}, expected "echo: ${text}"`);
  }
  return reply;
}

/** expectEcho for each reply of a series, against the text it answers. */
export function expectEchoes(replies: readonly ReplyTiming[], texts: readonly string[]): ReplyTiming[] {
  return replies.map((reply, i) => expectEcho(reply, texts[i]!));
}
