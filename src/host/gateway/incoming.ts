// Reading one call off the session's socket, before anything about the group is asked: the path is
// origin-form and on the provider's fence, the body fits and is one JSON object that names its model.
import type { IncomingMessage } from 'node:http';
import type { ModelProvider } from '../../db/enums.ts';
import { fenceCall } from './fence.ts';
import type { RefusalKind } from './refusals.ts';
import { inspectBody } from './request-body.ts';

/** Anthropic accepts requests up to 32 MB; images and PDFs travel base64 in the body. */
const MAX_BODY_BYTES = 32 << 20;

export type IncomingCall =
  | {
      ok: true;
      /** The path as the fence passes it upstream. */
      path: string;
      raw: Buffer;
      json: Record<string, unknown> | undefined;
      model: string;
    }
  | { ok: false; kind: RefusalKind; message: string };

/** Reads and checks the call; a refused call's body is drained, never forwarded. */
export async function readIncomingCall(
  provider: ModelProvider,
  req: IncomingMessage,
  path: string,
): Promise<IncomingCall> {
  // Origin-form only ("/v1/messages"): an absolute URL would turn the gateway into an open proxy.
  if (!path.startsWith('/') || path.startsWith('//')) {
    req.resume();
    return {
      ok: false,
      kind: 'bad_request',
      message: 'the gateway takes paths such as /v1/messages, not absolute URLs',
    };
  }
  // The fence before anything is read: a call off the provider's list is never forwarded.
  const fenced = fenceCall(provider, req.method ?? 'GET', path);
  if (!fenced.ok) {
    req.resume();
    return { ok: false, kind: 'not_found', message: fenced.message };
  }
  const raw = await readBody(req);
  if (raw === 'too_large') {
    return {
      ok: false,
      kind: 'too_large',
      message: `the request body is larger than ${MAX_BODY_BYTES} bytes`,
    };
  }
  const body = inspectBody(raw);
  if (!body.ok) return { ok: false, kind: 'bad_request', message: body.error };
  // Every forwarded call names its model, so the allow-list and the budget always apply.
  if (body.model === undefined) {
    return {
      ok: false,
      kind: 'bad_request',
      message: `${req.method} ${fenced.path} needs a "model" in its JSON body`,
    };
  }
  return { ok: true, path: fenced.path, raw, json: body.json, model: body.model };
}

function readBody(req: IncomingMessage): Promise<Buffer | 'too_large'> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        req.removeAllListeners('data');
        req.resume();
        resolve('too_large');
      } else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
