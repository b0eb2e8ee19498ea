// Inbound files: getFile names a path on the Bot API server; the bytes come from
// `${apiRoot}/file/bot<token>/<file_path>`, read up to a bound and never from any other origin.
import type { Api } from 'grammy';
import type { InboundAttachment } from '../../channel.ts';
import { bounded } from './client.ts';
import type { FileRef } from './normalize.ts';

/** A file_path as the Bot API hands it out: relative, no traversal, no scheme, bounded. */
const SAFE_FILE_PATH = /^(?!.*\.\.)[A-Za-z0-9_\-./]{1,256}$/;
const DOWNLOAD_TIMEOUT_MS = 60_000;
const GET_FILE_TIMEOUT_MS = 10_000;

export type Fetched =
  { ok: true; attachment: InboundAttachment } | { ok: false; note: string; reason: string };

export interface FileSource {
  api: Api;
  apiRoot: string;
  token: string;
  maxBytes: number;
  signal: AbortSignal;
}

export async function fetchFile(ref: FileRef, source: FileSource): Promise<Fetched> {
  const tooLarge = (size: number, more = ''): Fetched => ({
    ok: false,
    note: `[file too large: ${ref.name} (${more}${size} bytes)]`,
    reason: `larger than ${source.maxBytes} bytes`,
  });
  if (ref.size !== undefined && ref.size > source.maxBytes) return tooLarge(ref.size);
  const failed = (reason: string): Fetched => ({
    ok: false,
    note: `[file not received: ${ref.name}]`,
    reason,
  });

  const file = await source.api.getFile(ref.fileId, bounded(GET_FILE_TIMEOUT_MS, source.signal));
  if (file.file_size !== undefined && file.file_size > source.maxBytes) return tooLarge(file.file_size);
  const url = downloadUrl(source.apiRoot, source.token, file.file_path);
  if (url === null) return failed('the server named an unsafe file path');

  const signal = AbortSignal.any([source.signal, AbortSignal.timeout(DOWNLOAD_TIMEOUT_MS)]);
  const response = await fetch(url, { signal, redirect: 'error' });
  if (!response.ok || response.body === null) {
    await response.body?.cancel();
    return failed(`download answered ${response.status}`);
  }
  const declared = Number(response.headers.get('content-length') ?? NaN);
  if (declared > source.maxBytes) {
    await response.body.cancel();
    return tooLarge(declared);
  }
  const data = await readBounded(response.body, source.maxBytes);
  if (data === null) return tooLarge(source.maxBytes, 'more than ');
  return { ok: true, attachment: { name: ref.name, type: ref.type, size: data.length, data } };
}

/** The download URL, or null when the path could leave the API's file folder or origin. */
export function downloadUrl(apiRoot: string, token: string, filePath: string | undefined): string | null {
  if (filePath === undefined || !SAFE_FILE_PATH.test(filePath) || filePath.startsWith('/')) return null;
  const url = new URL(`${apiRoot}/file/bot${token}/${filePath}`);
  return url.origin === new URL(apiRoot).origin ? url.href : null;
}

/** Reads at most `max` bytes; null (and the rest left unread) when the body is longer. */
async function readBounded(body: ReadableStream<Uint8Array>, max: number): Promise<Buffer | null> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return Buffer.concat(chunks, total);
    total += value.length;
    if (total > max) {
      await reader.cancel();
      return null;
    }
    chunks.push(value);
  }
}
