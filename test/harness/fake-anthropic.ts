// A fake Anthropic Messages API on 127.0.0.1 for tests of the gateway and of the real Claude Agent SDK.
//
//   const anthropic = await startFakeAnthropic({ apiKey: 'sk-ant-real' });   // url: http://127.0.0.1:PORT
//   anthropic.reply({ text: 'Hello!' });                                     // next call answers this
//   anthropic.reply({ toolUse: [{ name: 'send_message', input: { text: 'hi' } }] });
//   anthropic.reply({ fault: 'status', status: 429, body: { … } });         // or 'hang' | 'stall' | 'malformed'
//   … point the client at anthropic.url (ANTHROPIC_BASE_URL, or the gateway's baseUrl) …
//   anthropic.requests[0].headers['x-api-key'];  anthropic.requests[0].body.model;
//   anthropic.responses[0].usage;                // the token counts it reported for that call
//   await anthropic.close();
//
// Serves POST /v1/messages (with "stream": true as server-sent events: message_start,
// content_block_start/delta/stop for text and tool_use (input_json_delta), message_delta with
// stop_reason and usage, message_stop; otherwise one JSON message), POST /v1/messages/count_tokens
// ({ input_tokens }), and answers anything else with a 404 in Anthropic's error format. Replies are
// taken from the queue in order; when it is empty, `fallback` (default: the text "ok") answers.
// With `apiKey` set, a call without that x-api-key gets Anthropic's 401 authentication_error.
import type { ServerResponse } from 'node:http';
import {
  answerFault,
  holdAfterFirstDelta,
  pieces,
  SSE_HEADERS,
  startFakeModelApi,
  writeChunk,
  type FakeModelApi,
  type FakeModelApiOptions,
  type Fault,
  type ModelResponseRecord,
  type StreamPacing,
} from './fake-model-server.ts';

export type { Fault, RecordedRequest } from './fake-model-server.ts';

export interface AnthropicUsage {
  input_tokens: number;
  output_tokens: number;
  cache_creation_input_tokens: number;
  cache_read_input_tokens: number;
}

export interface AnthropicMessageReply extends StreamPacing {
  /** Text block (first, when there are tool calls too). */
  text?: string;
  toolUse?: { id?: string; name: string; input: Record<string, unknown> }[];
  /** Counts to report; defaults: 25 in, one per text piece + 10 per tool call out, no cache. */
  usage?: Partial<AnthropicUsage>;
  /** Defaults to tool_use when there are tool calls, else end_turn. */
  stopReason?: string;
}

export type AnthropicReply = AnthropicMessageReply | Fault;
export type AnthropicResponseRecord = ModelResponseRecord<AnthropicUsage>;
export type FakeAnthropic = FakeModelApi<AnthropicReply, AnthropicUsage>;
/** `apiKey`: the x-api-key every call must carry. */
export type FakeAnthropicOptions = FakeModelApiOptions<AnthropicReply>;

let counter = 0;

export function startFakeAnthropic(options: FakeAnthropicOptions = {}): Promise<FakeAnthropic> {
  return startFakeModelApi<AnthropicReply, AnthropicUsage>(
    options,
    async (req, res, takeReply, responses) => {
      const path = req.path.split('?')[0]!;
      if (options.apiKey !== undefined && req.headers['x-api-key'] !== options.apiKey) {
        return error(res, 401, 'authentication_error', 'invalid x-api-key');
      }
      if (req.method === 'POST' && path === '/v1/messages/count_tokens') {
        return json(res, 200, { input_tokens: Math.max(1, Math.ceil(req.raw.length / 4)) });
      }
      if (req.method !== 'POST' || path !== '/v1/messages') {
        return error(res, 404, 'not_found_error', `fake Anthropic API: no route for ${req.method} ${path}`);
      }
      if (typeof req.body?.model !== 'string')
        return error(res, 400, 'invalid_request_error', 'model: Field required');
      const reply = takeReply();
      const model = req.body.model as string;
      const id = `msg_fake_${++counter}`;
      if (answerFault(reply, res, () => event('message_start', messageStart(id, model, usageOf({}, 0)))))
        return;
      const r = reply as AnthropicMessageReply;
      const blocks = contentOf(r);
      const usage = usageOf(
        r,
        blocks.reduce((n, b) => n + (b.type === 'text' ? pieces(b.text).length : 10), 0),
      );
      const stopReason = r.stopReason ?? (r.toolUse?.length ? 'tool_use' : 'end_turn');
      const stream = req.body.stream === true;
      responses.push({ path, stream, model, usage });
      if (!stream) {
        return json(res, 200, {
          id,
          type: 'message',
          role: 'assistant',
          model,
          content: blocks,
          stop_reason: stopReason,
          stop_sequence: null,
          usage,
        });
      }
      const delay = r.chunkDelayMs ?? 0;
      res.writeHead(200, SSE_HEADERS);
      await writeChunk(
        res,
        event('message_start', messageStart(id, model, { ...usage, output_tokens: 1 })),
        delay,
      );
      const held = holdAfterFirstDelta(r.holdUntil);
      const delta = async (index: number, delta: object) => {
        await writeChunk(
          res,
          event('content_block_delta', { type: 'content_block_delta', index, delta }),
          delay,
        );
        await held();
      };
      for (const [index, block] of blocks.entries()) {
        if (block.type === 'text') {
          await writeChunk(
            res,
            event('content_block_start', {
              type: 'content_block_start',
              index,
              content_block: { type: 'text', text: '' },
            }),
            delay,
          );
          for (const piece of pieces(block.text)) await delta(index, { type: 'text_delta', text: piece });
        } else {
          const start = { type: 'tool_use', id: block.id, name: block.name, input: {} };
          await writeChunk(
            res,
            event('content_block_start', { type: 'content_block_start', index, content_block: start }),
            delay,
          );
          const input = JSON.stringify(block.input);
          for (const part of [
            input.slice(0, Math.ceil(input.length / 2)),
            input.slice(Math.ceil(input.length / 2)),
          ]) {
            await delta(index, { type: 'input_json_delta', partial_json: part });
          }
        }
        await writeChunk(res, event('content_block_stop', { type: 'content_block_stop', index }), delay);
      }
      await writeChunk(
        res,
        event('message_delta', {
          type: 'message_delta',
          delta: { stop_reason: stopReason, stop_sequence: null },
          usage: { output_tokens: usage.output_tokens },
        }),
        delay,
      );
      await writeChunk(res, event('message_stop', { type: 'message_stop' }), 0);
      res.end();
    },
  );
}

type Block =
  | { type: 'text'; text: string }
  | { type: 'tool_use'; id: string; name: string; input: Record<string, unknown> };

function contentOf(r: AnthropicMessageReply): Block[] {
  const blocks: Block[] = [];
  if (r.text !== undefined || !r.toolUse?.length) blocks.push({ type: 'text', text: r.text ?? '' });
  for (const t of r.toolUse ?? []) {
    blocks.push({ type: 'tool_use', id: t.id ?? `toolu_fake_${++counter}`, name: t.name, input: t.input });
  }
  return blocks;
}

function usageOf(r: AnthropicMessageReply, defaultOutput: number): AnthropicUsage {
  return {
    input_tokens: r.usage?.input_tokens ?? 25,
    output_tokens: r.usage?.output_tokens ?? defaultOutput,
    cache_creation_input_tokens: r.usage?.cache_creation_input_tokens ?? 0,
    cache_read_input_tokens: r.usage?.cache_read_input_tokens ?? 0,
  };
}

function messageStart(id: string, model: string, usage: AnthropicUsage) {
  return {
    type: 'message_start',
    message: {
      id,
      type: 'message',
      role: 'assistant',
      model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage,
    },
  };
}

const event = (name: string, data: unknown) => `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`;

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'request-id': 'req_fake' });
  res.end(JSON.stringify(body));
}

function error(res: ServerResponse, status: number, type: string, message: string): void {
  json(res, status, { type: 'error', error: { type, message } });
}
