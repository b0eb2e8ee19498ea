// Pure: the token counts a provider reports, read from the response as it streams past. Nothing here
// holds bytes back: the tap sees each chunk after it went to the client.
//   claude JSON: { usage: { input_tokens, output_tokens, cache_creation_input_tokens, cache_read_input_tokens } }
//   claude SSE:  message_start.message.usage, then message_delta.usage (cumulative counts)
//   openai JSON: { usage: { prompt_tokens, completion_tokens, prompt_tokens_details.cached_tokens } }
//   openai SSE:  the chunk that carries `usage` (sent when stream_options.include_usage is set)
import { createParser } from 'eventsource-parser';
import { z } from 'zod';
import type { ModelProvider } from '../../db/enums.ts';
import type { TokenCounts } from '../../db/model-usage.ts';

export interface UsageTap {
  push(chunk: Uint8Array): void;
  /** The counts seen so far; undefined when the response carried none. */
  result(): TokenCounts | undefined;
}

/** A JSON body bigger than this is not kept to read its usage (a model answer is far smaller). */
const MAX_JSON_BYTES = 8 << 20;
/** One server-sent event longer than this is skipped (usage events are tiny). */
const MAX_EVENT_CHARS = 1 << 20;

const n = z.number().int().nonnegative().catch(0).optional();
const claudeUsage = z.looseObject({
  input_tokens: n,
  output_tokens: n,
  cache_creation_input_tokens: n.nullable(),
  cache_read_input_tokens: n.nullable(),
});
const openaiUsage = z.looseObject({
  prompt_tokens: n,
  completion_tokens: n,
  prompt_tokens_details: z.looseObject({ cached_tokens: n.nullable() }).nullish().catch(undefined),
});
const claudeEvent = z.looseObject({
  type: z.string(),
  message: z
    .looseObject({ usage: claudeUsage.optional().catch(undefined) })
    .optional()
    .catch(undefined),
  usage: claudeUsage.optional().catch(undefined),
});
const withUsage = <T extends z.ZodType>(usage: T) =>
  z.looseObject({ usage: usage.nullish().catch(undefined) });

export function createUsageTap(provider: ModelProvider, contentType: string | null): UsageTap {
  return contentType?.toLowerCase().startsWith('text/event-stream') ? sseTap(provider) : jsonTap(provider);
}

function jsonTap(provider: ModelProvider): UsageTap {
  const chunks: Uint8Array[] = [];
  let size = 0;
  let overflow = false;
  return {
    push(chunk) {
      if (overflow) return;
      size += chunk.byteLength;
      if (size > MAX_JSON_BYTES) {
        overflow = true;
        chunks.length = 0;
      } else chunks.push(chunk);
    },
    result() {
      if (overflow || size === 0) return undefined;
      let json: unknown;
      try {
        json = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        return undefined;
      }
      if (provider === 'claude') {
        const usage = withUsage(claudeUsage).safeParse(json).data?.usage;
        return usage ? fromClaude(usage) : undefined;
      }
      const usage = withUsage(openaiUsage).safeParse(json).data?.usage;
      return usage ? fromOpenai(usage) : undefined;
    },
  };
}

function sseTap(provider: ModelProvider): UsageTap {
  const decoder = new TextDecoder('utf-8');
  let counts: TokenCounts | undefined;
  // Past an event too long to be usage, the rest of its line is dropped and reading goes on after it.
  let skipping = false;
  const parser = createParser({
    maxBufferSize: MAX_EVENT_CHARS,
    // event:, id:, retry: and comments carry no usage; the data says what it is.
    onEvent: ({ data }) => {
      counts = usageStep(provider, counts, data);
    },
    onError: (err) => {
      if (err.type !== 'max-buffer-size-exceeded') return;
      parser.reset();
      skipping = true;
    },
  });
  const feed = (text: string) => {
    if (skipping) {
      const end = text.search(/[\r\n]/);
      if (end === -1) return;
      skipping = false;
      text = text.slice(end + 1);
    }
    parser.feed(text);
  };
  return {
    push: (chunk) => feed(decoder.decode(chunk, { stream: true })),
    result() {
      // A stream cut off after its last event but before the blank line still counts.
      feed('\n\n');
      return counts;
    },
  };
}

function usageStep(provider: ModelProvider, counts: TokenCounts | undefined, data: string) {
  if (!data || data === '[DONE]') return counts;
  let json: unknown;
  try {
    json = JSON.parse(data);
  } catch {
    return counts;
  }
  return provider === 'claude' ? claudeStep(counts, json) : openaiStep(counts, json);
}

function claudeStep(counts: TokenCounts | undefined, json: unknown): TokenCounts | undefined {
  const event = claudeEvent.safeParse(json).data;
  if (event?.type === 'message_start' && event.message?.usage) return fromClaude(event.message.usage);
  if (event?.type === 'message_delta' && event.usage) {
    // Counts in message_delta are cumulative: a field present replaces the one from message_start.
    const next = fromClaude(event.usage);
    const u = event.usage;
    const base = counts ?? { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0 };
    return {
      inputTokens: u.input_tokens !== undefined ? next.inputTokens : base.inputTokens,
      outputTokens: u.output_tokens !== undefined ? next.outputTokens : base.outputTokens,
      cacheReadTokens: u.cache_read_input_tokens != null ? next.cacheReadTokens : base.cacheReadTokens,
      cacheWriteTokens: u.cache_creation_input_tokens != null ? next.cacheWriteTokens : base.cacheWriteTokens,
    };
  }
  return counts;
}

function openaiStep(counts: TokenCounts | undefined, json: unknown): TokenCounts | undefined {
  const usage = withUsage(openaiUsage).safeParse(json).data?.usage;
  return usage ? fromOpenai(usage) : counts;
}

function fromClaude(u: z.infer<typeof claudeUsage>): TokenCounts {
  return {
    inputTokens: u.input_tokens ?? 0,
    outputTokens: u.output_tokens ?? 0,
    cacheReadTokens: u.cache_read_input_tokens ?? 0,
    cacheWriteTokens: u.cache_creation_input_tokens ?? 0,
  };
}

/** prompt_tokens includes cached tokens; kept apart here as Claude reports them. */
function fromOpenai(u: z.infer<typeof openaiUsage>): TokenCounts {
  const prompt = u.prompt_tokens ?? 0;
  const cached = Math.min(u.prompt_tokens_details?.cached_tokens ?? 0, prompt);
  return {
    inputTokens: prompt - cached,
    outputTokens: u.completion_tokens ?? 0,
    cacheReadTokens: cached,
    cacheWriteTokens: 0,
  };
}
