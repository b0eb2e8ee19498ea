// A fake OpenAI-compatible API on 127.0.0.1 (as OpenAI, Ollama, vLLM or llama.cpp serve it) for tests of
// the gateway and of the real openai client. Its url is the API root including /v1 semantics: point
// a client's baseURL (or the gateway's baseUrl) at `fake.url`.
//
//   const openai = await startFakeOpenAI({ apiKey: 'sk-real' });
//   openai.reply({ text: 'Hello!' });
//   openai.reply({ toolCalls: [{ name: 'send_message', arguments: { text: 'hi' } }] });
//   openai.reply({ fault: 'status', status: 500, body: { … } });      // or 'hang' | 'stall' | 'malformed'
//   openai.requests[0].headers.authorization;  openai.requests[0].body.stream_options;
//   openai.responses[0].usage;                  // what it reported (null when a stream was not asked for usage)
//
// Serves POST /chat/completions (and /v1/chat/completions): with "stream": true as chat.completion.chunk
// events (role, content deltas, tool_calls deltas with the arguments in two pieces, finish_reason),
// then, only when stream_options.include_usage is set, a chunk with empty choices and the usage, then
// `data: [DONE]`; otherwise one chat.completion with usage. GET /models lists `models`. Anything else
// is a 404 in OpenAI's error format. With `apiKey` set, a call without `Authorization: Bearer <apiKey>`
// gets a 401 invalid_api_key.
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

export interface OpenAIUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details: { cached_tokens: number };
}

export interface OpenAIMessageReply extends StreamPacing {
  text?: string;
  toolCalls?: { id?: string; name: string; arguments: Record<string, unknown> }[];
  /** Counts to report; defaults: 30 prompt (none cached), one per text piece + 10 per tool call. */
  usage?: { prompt_tokens?: number; completion_tokens?: number; cached_tokens?: number };
  /** Defaults to tool_calls when there are tool calls, else stop. */
  finishReason?: string;
}

export type OpenAIReply = OpenAIMessageReply | Fault;
/** usage null: a stream without stream_options.include_usage, which reports none. */
export type OpenAIResponseRecord = ModelResponseRecord<OpenAIUsage | null>;
export type FakeOpenAI = FakeModelApi<OpenAIReply, OpenAIUsage | null>;

export interface FakeOpenAIOptions extends FakeModelApiOptions<OpenAIReply> {
  /** Ids GET /models lists. */
  models?: string[];
}

let counter = 0;

export function startFakeOpenAI(options: FakeOpenAIOptions = {}): Promise<FakeOpenAI> {
  return startFakeModelApi<OpenAIReply, OpenAIUsage | null>(
    options,
    async (req, res, takeReply, responses) => {
      const path = req.path.split('?')[0]!.replace(/^\/v1(?=\/)/, '');
      if (options.apiKey !== undefined && req.headers.authorization !== `Bearer ${options.apiKey}`) {
        return error(res, 401, 'invalid_request_error', 'invalid_api_key', 'Incorrect API key provided');
      }
      if (req.method === 'GET' && path === '/models') {
        return json(res, 200, {
          object: 'list',
          data: (options.models ?? ['gpt-fake']).map((id) => ({
            id,
            object: 'model',
            created: 0,
            owned_by: 'fake',
          })),
        });
      }
      if (req.method !== 'POST' || path !== '/chat/completions') {
        return error(
          res,
          404,
          'invalid_request_error',
          'not_found',
          `fake OpenAI API: no route for ${req.method} ${path}`,
        );
      }
      if (typeof req.body?.model !== 'string') {
        return error(
          res,
          400,
          'invalid_request_error',
          'missing_model',
          'you must provide a model parameter',
        );
      }
      const reply = takeReply();
      const model = req.body.model as string;
      const id = `chatcmpl-fake${++counter}`;
      const chunk = (choices: unknown[], extra: object = {}) =>
        `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created: 0, model, choices, ...extra })}\n\n`;
      if (
        answerFault(reply, res, () =>
          chunk([{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }]),
        )
      ) {
        return;
      }
      const r = reply as OpenAIMessageReply;
      const calls = (r.toolCalls ?? []).map((c) => ({
        id: c.id ?? `call_fake${++counter}`,
        name: c.name,
        args: JSON.stringify(c.arguments),
      }));
      const textPieces = r.text !== undefined || calls.length === 0 ? pieces(r.text ?? '') : [];
      const usage = usageOf(r, textPieces.length + 10 * calls.length);
      const finishReason = r.finishReason ?? (calls.length > 0 ? 'tool_calls' : 'stop');
      const stream = req.body.stream === true;
      const wantsUsage = req.body.stream_options?.include_usage === true;
      responses.push({ path, stream, model, usage: stream && !wantsUsage ? null : usage });
      if (!stream) {
        return json(res, 200, {
          id,
          object: 'chat.completion',
          created: 0,
          model,
          choices: [
            {
              index: 0,
              message: {
                role: 'assistant',
                content: textPieces.length > 0 ? textPieces.join('') : null,
                refusal: null,
                ...(calls.length > 0
                  ? {
                      tool_calls: calls.map((c) => ({
                        id: c.id,
                        type: 'function',
                        function: { name: c.name, arguments: c.args },
                      })),
                    }
                  : {}),
              },
              logprobs: null,
              finish_reason: finishReason,
            },
          ],
          usage,
        });
      }
      const delay = r.chunkDelayMs ?? 0;
      res.writeHead(200, SSE_HEADERS);
      await writeChunk(
        res,
        chunk([{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }]),
        delay,
      );
      const held = holdAfterFirstDelta(r.holdUntil);
      for (const piece of textPieces) {
        await writeChunk(res, chunk([{ index: 0, delta: { content: piece }, finish_reason: null }]), delay);
        await held();
      }
      for (const [index, call] of calls.entries()) {
        const head = { index, id: call.id, type: 'function', function: { name: call.name, arguments: '' } };
        await writeChunk(
          res,
          chunk([{ index: 0, delta: { tool_calls: [head] }, finish_reason: null }]),
          delay,
        );
        const half = Math.ceil(call.args.length / 2);
        for (const part of [call.args.slice(0, half), call.args.slice(half)]) {
          await writeChunk(
            res,
            chunk([
              {
                index: 0,
                delta: { tool_calls: [{ index, function: { arguments: part } }] },
                finish_reason: null,
              },
            ]),
            delay,
          );
          await held();
        }
      }
      await writeChunk(res, chunk([{ index: 0, delta: {}, finish_reason: finishReason }]), delay);
      if (wantsUsage) await writeChunk(res, chunk([], { usage }), delay);
      await writeChunk(res, 'data: [DONE]\n\n', 0);
      res.end();
    },
  );
}

function usageOf(r: OpenAIMessageReply, defaultCompletion: number): OpenAIUsage {
  const prompt = r.usage?.prompt_tokens ?? 30;
  const completion = r.usage?.completion_tokens ?? defaultCompletion;
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    prompt_tokens_details: { cached_tokens: r.usage?.cached_tokens ?? 0 },
  };
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

function error(res: ServerResponse, status: number, type: string, code: string, message: string): void {
  json(res, status, { error: { message, type, param: null, code } });
}
