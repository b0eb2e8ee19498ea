// `warren chat`: a conversation from the terminal through the cli channel. Each typed line is posted
// as a message; replies arrive on the chat's event stream and are printed as they come.
import { createInterface } from 'node:readline';
import { type CardOption, CLI_SECRET_HEADER, readServerSentEvents } from '../channels/index.ts';
import { errorText } from '../../shared/error-text.ts';

export const CHAT_HELP = `warren chat [--chat NAME] [--as NAME]
talk to the main agent from this terminal; the host must be running (warren start).
  --chat NAME   conversation name (default: terminal)
  --as NAME     your name (default: your login name)
`;

export interface ChatOptions {
  /** The host's base URL, e.g. http://127.0.0.1:7420. */
  url: string;
  chat: string;
  sender: { id: string; name?: string };
  /** The install secret (`<data-dir>/cli-secret`): the cli channel refuses requests without it. */
  secret: string;
  input: NodeJS.ReadableStream;
  output: NodeJS.WritableStream;
}

interface Reply {
  text?: string;
  emoji?: string;
  files?: { name: string; url: string }[];
  card?: { title: string; body: string; options: CardOption[] };
}

/** Resolves when the user types /quit, the input ends, or the host closes the stream. */
export async function runChat(options: ChatOptions): Promise<void> {
  const { url, chat, output } = options;
  const api = `${url.replace(/\/$/, '')}/cli/api`;
  const print = (line: string) => void output.write(`${line}\n`);
  const stop = new AbortController();
  // Subscribed before the first line is sent, so no reply can be missed.
  const headers = { [CLI_SECRET_HEADER]: options.secret };
  const events = await subscribe(api, chat, stop.signal, headers);
  const lines = createInterface({ input: options.input, terminal: false });
  let choices: CardOption[] = [];

  const streamDone = (async () => {
    for await (const { event, data } of readServerSentEvents(events)) {
      const reply = JSON.parse(data) as Reply;
      if (reply.card) choices = reply.card.options;
      for (const line of describeReply(event, reply, url)) print(line);
    }
  })().then(
    () => !stop.signal.aborted && print('(Warren closed the connection)'),
    (err: unknown) => !stop.signal.aborted && print(`(connection to Warren lost: ${errorText(err)})`),
  );
  void streamDone.then(() => lines.close());

  print(`chatting in "${chat}" as ${options.sender.name ?? options.sender.id}; /quit leaves`);
  for await (const line of lines) {
    const text = line.trim();
    if (text === '/quit') break;
    if (text === '') continue;
    const choice = /^\d+$/.test(text) ? choices[Number(text) - 1] : undefined;
    if (choice) choices = [];
    const problem = await post(api, { chat, sender: options.sender, text: choice?.value ?? text }, headers);
    if (problem) print(`(not sent: ${problem})`);
  }
  stop.abort();
  lines.close();
  await streamDone;
}

async function subscribe(
  api: string,
  chat: string,
  signal: AbortSignal,
  headers: Record<string, string>,
): Promise<ReadableStream<Uint8Array>> {
  const where = `${api}/events?chat=${encodeURIComponent(chat)}`;
  const response = await fetch(where, { signal, headers }).catch((err: unknown) => {
    throw new Error(`cannot reach Warren at ${where} (${errorText(err)}); is \`warren start\` running?`, {
      cause: err,
    });
  });
  if (!response.ok || !response.body) {
    throw new Error(`Warren refused the chat stream: ${response.status} ${await errorOf(response)}`);
  }
  return response.body;
}

/** Returns why the message was not accepted, or null once it was. */
async function post(
  api: string,
  message: { chat: string; sender: ChatOptions['sender']; text: string },
  headers: Record<string, string>,
): Promise<string | null> {
  try {
    const response = await fetch(`${api}/messages`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify(message),
    });
    return response.ok ? null : await errorOf(response);
  } catch (err) {
    return `cannot reach Warren (${errorText(err)})`;
  }
}

function describeReply(event: string, reply: Reply, url: string): string[] {
  if (event === 'react') return [`agent reacted ${reply.emoji ?? ''}`];
  const prefix = event === 'edit' ? 'agent (edited)' : 'agent';
  const lines = reply.text ? [`${prefix}: ${reply.text}`] : [];
  if (reply.card) {
    lines.push(`  ${reply.card.title}`, `  ${reply.card.body}`);
    reply.card.options.forEach((option, i) => lines.push(`  [${i + 1}] ${option.label}`));
    if (reply.card.options.length > 0) lines.push('  (type a number to choose)');
  }
  for (const file of reply.files ?? [])
    lines.push(`  file ${file.name}: ${url.replace(/\/$/, '')}${file.url}`);
  return lines;
}

async function errorOf(response: Response): Promise<string> {
  const body = (await response.json().catch(() => ({}))) as { error?: string };
  return body.error ?? `HTTP ${response.status}`;
}
