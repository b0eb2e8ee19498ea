// Pure: what the gateway needs to know about a call's JSON body (which model, streamed or not), and
// the one change it makes: a streamed OpenAI chat call is asked to report its usage at the end.
import type { ModelProvider } from '../../db/enums.ts';

export type InspectedBody =
  | { ok: true; json: Record<string, unknown> | undefined; model: string | undefined }
  | { ok: false; error: string };

/** An empty body is fine (GET /models); anything else must be one JSON object. */
export function inspectBody(raw: Buffer): InspectedBody {
  if (raw.length === 0) return { ok: true, json: undefined, model: undefined };
  let json: unknown;
  try {
    json = JSON.parse(raw.toString('utf8'));
  } catch {
    return { ok: false, error: 'the request body is not valid JSON' };
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    return { ok: false, error: 'the request body must be a JSON object' };
  }
  const record = json as Record<string, unknown>;
  if (record.model !== undefined && typeof record.model !== 'string') {
    return { ok: false, error: '"model" must be a string' };
  }
  return { ok: true, json: record, model: record.model as string | undefined };
}

/**
 * The body to send upstream. OpenAI-compatible servers report a streamed call's usage only when
 * asked (`stream_options.include_usage`); the extra final chunk has empty `choices`.
 */
export function bodyForUpstream(
  provider: ModelProvider,
  path: string,
  raw: Buffer,
  json: Record<string, unknown> | undefined,
): Buffer {
  if (provider !== 'openai' || !json || json.stream !== true) return raw;
  if (!/\/chat\/completions$/.test(path.split('?')[0]!)) return raw;
  const options = json.stream_options;
  if (
    typeof options === 'object' &&
    options !== null &&
    (options as Record<string, unknown>).include_usage === true
  )
    return raw;
  const merged = typeof options === 'object' && options !== null && !Array.isArray(options) ? options : {};
  return Buffer.from(JSON.stringify({ ...json, stream_options: { ...merged, include_usage: true } }));
}

/** Whether `model` is one of `allowed`; an entry ending in `*` allows every model with that prefix. */
export function isModelAllowed(model: string, allowed: readonly string[]): boolean {
  return allowed.some((entry) =>
    entry.endsWith('*') ? model.startsWith(entry.slice(0, -1)) : entry === model,
  );
}
