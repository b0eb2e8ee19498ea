// A fake Telegram Bot API on 127.0.0.1 that the real grammY client talks to. Point it at `fake.apiRoot`.
//
//   const tg = await startFakeTelegram({ token: '123:abc', bot: { id: 99, username: 'warren_bot' } });
//   tg.message({ chat: tg.dm(7), from: tg.user(7), text: 'hi' });   // an update, held until confirmed
//   tg.press({ from: tg.user(7), card: sentMessage, data: 'tok-1' }); // a button press on a card
//   tg.addFile(Buffer.from('…'))  → { file_id, file_size } to put in a message's document
//   tg.failNext('sendMessage', 1, 429, 'Too Many Requests: retry after 3', { retry_after: 3 });
//   tg.hang();  …  tg.resume();                                       // stop answering, come back
//   tg.calls('sendMessage')[0].params;  tg.calls('sendDocument')[0].file;
//   tg.posted(chatId);                                               // what landed in a chat, in order
//   tg.requeue(update_id);                     // the same update again, as after a lost confirmation
//
// Serves POST /bot<token>/<method> (JSON or multipart) and GET /file/bot<token>/<file_path>. Updates
// behave as Telegram's: getUpdates returns every update with update_id ≥ offset (asking with a higher
// offset confirms and drops the earlier ones), waiting up to `timeout` seconds for one to arrive. A wrong
// token gets 401 Unauthorized; an unknown method 404.
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeUser {
  id: number;
  is_bot: boolean;
  first_name: string;
  username?: string;
}
export interface FakeChat {
  id: number;
  type: 'private' | 'group' | 'supergroup';
  title?: string;
  is_forum?: boolean;
}
export interface RecordedCall {
  method: string;
  /** JSON bodies as sent; multipart fields parsed back from grammY's JSON-encoded strings. */
  params: Record<string, unknown>;
  /** The uploaded file of a multipart call. */
  file?: { field: string; name: string; data: Buffer };
  /** When the call arrived (Date.now()). */
  at: number;
}
/** A message the bot posted successfully, with the call's parameters (reply, thread, keyboard). */
export interface PostedMessage {
  message: FakeMessage;
  method: string;
  params: Record<string, unknown>;
  file?: RecordedCall['file'];
}
/** A message the fake posted for the bot (what send* returned). */
export interface FakeMessage {
  message_id: number;
  date: number;
  chat: FakeChat;
  from: FakeUser;
  text?: string;
  message_thread_id?: number;
  is_topic_message?: boolean;
}

export interface FakeTelegramOptions {
  token: string;
  bot?: { id: number; username: string };
}

interface Failure {
  method: string;
  remaining: number;
  status: number;
  description: string;
  parameters?: Record<string, unknown>;
}

export type FakeTelegram = Awaited<ReturnType<typeof startFakeTelegram>>;

export async function startFakeTelegram(options: FakeTelegramOptions) {
  const bot: FakeUser = {
    id: options.bot?.id ?? 1000,
    is_bot: true,
    first_name: 'Warren',
    username: options.bot?.username ?? 'warren_bot',
  };
  const recorded: RecordedCall[] = [];
  const posted: PostedMessage[] = [];
  /** Every update ever queued, by id, and how many times getUpdates handed each out. */
  const updates = new Map<number, Record<string, unknown>>();
  const handedOut = new Map<number, number>();
  let pending: Record<string, unknown>[] = [];
  let nextUpdateId = 1;
  let nextMessageId = 5000;
  let nextFileId = 1;
  const files = new Map<string, { path: string; data: Buffer; reportedSize: number }>();
  const failures: Failure[] = [];
  const waiters = new Set<() => void>();
  let hanging = false;
  const hung = new Set<ServerResponse>();

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) reply(res, 500, { ok: false, error_code: 500, description: String(error) });
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const apiRoot = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    if (hanging) {
      hung.add(res);
      return;
    }
    const url = new URL(req.url ?? '/', apiRoot);
    const fileMatch = /^\/file\/bot([^/]+)\/(.+)$/.exec(url.pathname);
    if (fileMatch) return serveFile(res, fileMatch[1]!, fileMatch[2]!);
    const match = /^\/bot([^/]+)\/(\w+)$/.exec(url.pathname);
    if (!match) return reply(res, 404, { ok: false, error_code: 404, description: 'Not Found' });
    if (decodeURIComponent(match[1]!) !== options.token) {
      return reply(res, 401, { ok: false, error_code: 401, description: 'Unauthorized' });
    }
    const method = match[2]!;
    const call = await parseCall(method, req.headers['content-type'] ?? '', body, Date.now());
    recorded.push(call);
    const failure = failures.find((f) => f.method === method && f.remaining > 0);
    if (failure) {
      failure.remaining -= 1;
      const error = { ok: false, error_code: failure.status, description: failure.description };
      return reply(
        res,
        failure.status,
        failure.parameters ? { ...error, parameters: failure.parameters } : error,
      );
    }
    const result = await answer(method, call, res);
    if (result !== undefined) reply(res, 200, { ok: true, result });
  }

  /** The result of one API method; undefined when the answer was already written (or never will be). */
  async function answer(method: string, call: RecordedCall, res: ServerResponse): Promise<unknown> {
    const p = call.params;
    switch (method) {
      case 'getMe':
        return bot;
      case 'getUpdates':
        return getUpdates(p, res);
      case 'deleteWebhook':
      case 'setWebhook':
      case 'answerCallbackQuery':
      case 'sendChatAction':
      case 'setMessageReaction':
        return true;
      case 'getWebhookInfo':
        return { url: webhookUrl(), has_custom_certificate: false, pending_update_count: pending.length };
      case 'sendMessage':
      case 'sendDocument': {
        const message = postMessage(p);
        posted.push({ message, method, params: p, ...(call.file && { file: call.file }) });
        return message;
      }
      case 'editMessageText':
        return { ...postMessage(p), message_id: Number(p.message_id), edit_date: now() };
      case 'getFile': {
        const file = files.get(String(p.file_id));
        if (!file)
          return void reply(res, 400, {
            ok: false,
            error_code: 400,
            description: 'Bad Request: invalid file_id',
          });
        return {
          file_id: p.file_id,
          file_unique_id: p.file_id,
          file_size: file.reportedSize,
          file_path: file.path,
        };
      }
      default:
        return void reply(res, 404, {
          ok: false,
          error_code: 404,
          description: 'Not Found: method not found',
        });
    }
  }

  async function getUpdates(p: Record<string, unknown>, res: ServerResponse): Promise<unknown> {
    const offset = Number(p.offset ?? 0);
    if (offset > 0) pending = pending.filter((u) => (u.update_id as number) >= offset);
    const timeoutMs = Number(p.timeout ?? 0) * 1000;
    if (pending.length === 0 && timeoutMs > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, timeoutMs);
        function done() {
          clearTimeout(timer);
          waiters.delete(done);
          resolve();
        }
        waiters.add(done);
        res.once('close', done);
      });
    }
    if (hanging) hung.add(res);
    if (res.destroyed || hanging) return undefined;
    const batch = pending.slice(0, Number(p.limit ?? 100));
    for (const u of batch) {
      const id = u.update_id as number;
      handedOut.set(id, (handedOut.get(id) ?? 0) + 1);
    }
    return batch;
  }

  function postMessage(p: Record<string, unknown>): FakeMessage {
    const chatId = Number(p.chat_id);
    const thread = p.message_thread_id === undefined ? undefined : Number(p.message_thread_id);
    return {
      message_id: nextMessageId++,
      date: now(),
      chat: { id: chatId, type: chatId > 0 ? 'private' : 'supergroup' },
      from: bot,
      ...(typeof p.text === 'string' && { text: p.text }),
      ...(thread !== undefined && { message_thread_id: thread, is_topic_message: true }),
    };
  }

  function serveFile(res: ServerResponse, token: string, path: string): void {
    const file = [...files.values()].find((f) => f.path === path);
    if (decodeURIComponent(token) !== options.token || !file) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(file.data);
  }

  function webhookUrl(): string {
    const set = recorded.filter((c) => c.method === 'setWebhook' || c.method === 'deleteWebhook').at(-1);
    return set?.method === 'setWebhook' ? String(set.params.url) : '';
  }

  /** Queues an update (update_id assigned) and wakes a waiting getUpdates. */
  function push(update: Record<string, unknown>): number {
    const update_id = nextUpdateId++;
    updates.set(update_id, { update_id, ...update });
    pending.push({ update_id, ...update });
    for (const wake of [...waiters]) wake();
    return update_id;
  }

  return {
    apiRoot,
    bot,
    /** Every API call so far, or those of one method. */
    calls: (method?: string) => recorded.filter((c) => method === undefined || c.method === method),
    /** Updates not yet confirmed by an offset. */
    pending: () => pending,
    /** Messages the bot posted successfully (sendMessage, sendDocument), of one chat or all, in order. */
    posted: (chatId?: number) => posted.filter((p) => chatId === undefined || p.message.chat.id === chatId),
    /** How many times getUpdates has handed out this update. */
    handedOut: (updateId: number) => handedOut.get(updateId) ?? 0,
    /**
     * Queues an update again with its own update_id and body: what Telegram does when the offset that
     * confirmed it never reached it (the bot stopped or crashed first), for a poller starting afresh.
     */
    requeue(updateId: number): void {
      const update = updates.get(updateId);
      if (!update) throw new Error(`no update ${updateId}`);
      pending = [...pending.filter((u) => u.update_id !== updateId), update].sort(
        (a, b) => (a.update_id as number) - (b.update_id as number),
      );
      for (const wake of [...waiters]) wake();
    },
    user: (id: number, first_name = `User ${id}`): FakeUser => ({
      id,
      is_bot: false,
      first_name,
      username: `user${id}`,
    }),
    dm: (userId: number): FakeChat => ({ id: userId, type: 'private' }),
    group: (id: number, title = 'A group', is_forum = false): FakeChat => ({
      id,
      type: 'supergroup',
      title,
      is_forum,
    }),
    /** A message update; `message` gets message_id and date unless given. Returns { update_id, message_id }. */
    message(message: Record<string, unknown>): { update_id: number; message_id: number } {
      const full = { message_id: nextMessageId++, date: now(), ...message };
      return { update_id: push({ message: full }), message_id: full.message_id as number };
    },
    /** A button press on `card` (a message the bot sent) with callback_data `data`. */
    press(press: { from: FakeUser; card: FakeMessage; data: string; id?: string }): {
      update_id: number;
      id: string;
    } {
      const id = press.id ?? `cbq-${nextUpdateId}`;
      const update_id = push({
        callback_query: { id, from: press.from, message: press.card, chat_instance: 'ci', data: press.data },
      });
      return { update_id, id };
    },
    /** Any update body, valid or not (the update_id is added). */
    raw: (update: Record<string, unknown>): number => push(update),
    /** Stores bytes for getFile; `reportedSize` lets a test make Telegram understate a file's size. */
    addFile(data: Buffer, reportedSize = data.length): { file_id: string; file_size: number } {
      const file_id = `file-${nextFileId++}`;
      files.set(file_id, { path: `documents/${file_id}.bin`, data, reportedSize });
      return { file_id, file_size: reportedSize };
    },
    /** The next `count` calls of `method` fail with this Bot API error. */
    failNext(
      method: string,
      count: number,
      status: number,
      description: string,
      parameters?: Record<string, unknown>,
    ): void {
      failures.push({ method, remaining: count, status, description, ...(parameters && { parameters }) });
    },
    /** Stop answering: requests (the long poll in flight too) stay open until resume(). */
    hang(): void {
      hanging = true;
      for (const wake of [...waiters]) wake();
    },
    /** Answer again; requests held meanwhile are dropped (their sockets close). */
    resume(): void {
      hanging = false;
      for (const res of hung) res.destroy();
      hung.clear();
    },
    async close(): Promise<void> {
      if (!server.listening) return;
      for (const res of hung) res.destroy();
      for (const wake of [...waiters]) wake();
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

function now(): number {
  return Math.floor(Date.now() / 1000);
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** JSON as is; multipart split by hand (grammY writes headers as `name:value;name=x`, which undici's
 * parser refuses), each text field JSON-decoded when it is JSON. */
async function parseCall(
  method: string,
  contentType: string,
  body: Buffer,
  at: number,
): Promise<RecordedCall> {
  if (body.length === 0) return { method, params: {}, at };
  if (contentType.startsWith('application/json')) {
    return { method, params: JSON.parse(body.toString('utf8')) as Record<string, unknown>, at };
  }
  const boundary = /boundary=(.+)$/.exec(contentType)?.[1];
  if (!contentType.startsWith('multipart/form-data') || boundary === undefined)
    return { method, params: {}, at };
  const call: RecordedCall = { method, params: {}, at };
  for (const part of splitBuffer(body, Buffer.from(`--${boundary}`))) {
    const headerEnd = part.indexOf('\r\n\r\n');
    if (headerEnd < 0) continue;
    const headers = part.subarray(0, headerEnd).toString('utf8');
    const data = part.subarray(headerEnd + 4, part.length - 2); // the part ends with \r\n
    const field = /name="?([^";\r\n]+)"?/.exec(headers)?.[1];
    const filename = /filename="?([^";\r\n]+)"?/.exec(headers)?.[1];
    if (field === undefined) continue;
    if (filename !== undefined) call.file = { field, name: filename, data: Buffer.from(data) };
    else call.params[field] = decodeField(data.toString('utf8'));
  }
  return call;
}

function splitBuffer(body: Buffer, separator: Buffer): Buffer[] {
  const parts: Buffer[] = [];
  let at = body.indexOf(separator);
  while (at >= 0) {
    const next = body.indexOf(separator, at + separator.length);
    if (next < 0) break;
    parts.push(body.subarray(at + separator.length + 2, next)); // skip the \r\n after the boundary
    at = next;
  }
  return parts;
}

function decodeField(value: string): unknown {
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return value;
  }
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  if (res.destroyed) return;
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}
