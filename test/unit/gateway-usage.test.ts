// Usage read from responses as they stream past, however the bytes are cut into chunks.
import { describe, expect, test } from 'vitest';
import { createUsageTap } from '../../src/host/gateway/usage.ts';
import type { ModelProvider } from '../../src/db/enums.ts';

const SSE = 'text/event-stream; charset=utf-8';
/** The usage the tap reports: input and output tokens, then cache reads and writes (none by default). */
const tokens = (inputTokens: number, outputTokens: number, cacheReadTokens = 0, cacheWriteTokens = 0) => ({
  inputTokens,
  outputTokens,
  cacheReadTokens,
  cacheWriteTokens,
});
const sse = (events: [string | null, unknown][], eol = '\n') =>
  events
    .map(
      ([name, data]) =>
        `${name ? `event: ${name}${eol}` : ''}data: ${typeof data === 'string' ? data : JSON.stringify(data)}${eol}${eol}`,
    )
    .join('');

const claudeStream = sse([
  [
    'message_start',
    {
      type: 'message_start',
      message: {
        id: 'm',
        usage: {
          input_tokens: 120,
          output_tokens: 1,
          cache_creation_input_tokens: 40,
          cache_read_input_tokens: 300,
        },
      },
    },
  ],
  ['ping', { type: 'ping' }],
  [
    'content_block_start',
    { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
  ],
  [
    'content_block_delta',
    { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'héllo wörld ✓' } },
  ],
  ['content_block_stop', { type: 'content_block_stop', index: 0 }],
  [
    'message_delta',
    { type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 57 } },
  ],
  ['message_stop', { type: 'message_stop' }],
]);
const claudeCounts = tokens(120, 57, 300, 40);

const openaiStream = sse([
  [null, { id: 'c', choices: [{ index: 0, delta: { role: 'assistant', content: '' } }] }],
  [null, { id: 'c', choices: [{ index: 0, delta: { content: 'naïve ✓' } }], usage: null }],
  [null, { id: 'c', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] }],
  [
    null,
    {
      id: 'c',
      choices: [],
      usage: {
        prompt_tokens: 200,
        completion_tokens: 9,
        total_tokens: 209,
        prompt_tokens_details: { cached_tokens: 150 },
      },
    },
  ],
  [null, '[DONE]'],
]);
const openaiCounts = tokens(50, 9, 150);

/** Feeds `bytes` to a tap in pieces of `size` bytes (splitting lines, events and UTF-8 characters). */
function tapIn(provider: ModelProvider, contentType: string, text: string, size: number) {
  const tap = createUsageTap(provider, contentType);
  const bytes = Buffer.from(text);
  for (let i = 0; i < bytes.length; i += size) tap.push(bytes.subarray(i, i + size));
  return tap.result();
}

describe.each([1, 2, 3, 7, 64, 100_000])('chunks of %i byte(s)', (size) => {
  test('claude stream: message_start usage, then message_delta’s cumulative output', () => {
    expect(tapIn('claude', SSE, claudeStream, size)).toEqual(claudeCounts);
  });
  test('claude stream with CRLF line ends', () => {
    expect(tapIn('claude', SSE, claudeStream.replace(/\n/g, '\r\n'), size)).toEqual(claudeCounts);
  });
  test('openai stream: the usage chunk, cached tokens kept apart from the rest of the prompt', () => {
    expect(tapIn('openai', SSE, openaiStream, size)).toEqual(openaiCounts);
  });
  test('claude JSON body', () => {
    const body = JSON.stringify({
      id: 'm',
      content: [{ type: 'text', text: '✓✓✓' }],
      usage: {
        input_tokens: 5,
        output_tokens: 6,
        cache_creation_input_tokens: null,
        cache_read_input_tokens: 7,
      },
    });
    expect(tapIn('claude', 'application/json', body, size)).toEqual(tokens(5, 6, 7));
  });
  test('openai JSON body', () => {
    const body = JSON.stringify({
      id: 'c',
      choices: [],
      usage: { prompt_tokens: 11, completion_tokens: 3, total_tokens: 14 },
    });
    expect(tapIn('openai', 'application/json', body, size)).toEqual(tokens(11, 3));
  });
});

test('a claude message_delta that reports input and cache counts too replaces them', () => {
  const stream = sse([
    ['message_start', { type: 'message_start', message: { usage: { input_tokens: 10, output_tokens: 1 } } }],
    [
      'message_delta',
      { type: 'message_delta', usage: { input_tokens: 12, output_tokens: 30, cache_read_input_tokens: 4 } },
    ],
  ]);
  expect(tapIn('claude', SSE, stream, 5)).toEqual(tokens(12, 30, 4));
});

test('a stream cut off after message_start still counts its input tokens', () => {
  const stream = sse([
    ['message_start', { type: 'message_start', message: { usage: { input_tokens: 99, output_tokens: 1 } } }],
  ]);
  expect(tapIn('claude', SSE, stream.slice(0, -2), 4)).toEqual(tokens(99, 1));
});

test('an openai stream that was not asked for usage reports none', () => {
  const stream = sse([
    [null, { choices: [{ delta: { content: 'x' } }] }],
    [null, '[DONE]'],
  ]);
  expect(tapIn('openai', SSE, stream, 3)).toBeUndefined();
});

test('garbage, errors and bodies without usage report none, and never throw', () => {
  expect(tapIn('claude', SSE, 'data: {not json\n\ndata: [1,2]\n\n', 2)).toBeUndefined();
  expect(
    tapIn('claude', 'application/json', '{"type":"error","error":{"type":"overloaded_error"}}', 9),
  ).toBeUndefined();
  expect(tapIn('openai', 'application/json', '<html>bad gateway</html>', 9)).toBeUndefined();
  expect(tapIn('openai', 'application/json', '', 9)).toBeUndefined();
  expect(
    tapIn('claude', 'application/json', '{"usage":{"input_tokens":"many","output_tokens":-3}}', 9),
  ).toEqual(tokens(0, 0));
});

test('count_tokens answers are not usage', () => {
  expect(tapIn('claude', 'application/json', '{"input_tokens":1234}', 100)).toBeUndefined();
});

test('an event too long to be usage is skipped, and the usage after it still counts', () => {
  const huge = `data: {"type":"content_block_delta","text":"${'x'.repeat(2 << 20)}"}\n\n`;
  expect(tapIn('claude', SSE, huge + claudeStream, 64 * 1024)).toEqual(claudeCounts);
});
