// Inbound files: getFile names a path on the Bot API server; the bytes come from
// `${apiRoot}/file/bot<token>/<file_path>`, read up to a bound and never from any other origin.
import type { Api } from 'grammy';
import type { InboundAttachment } from '../../channel.ts';
import { bounded } from './client.ts';
import { fetchInboundFile, fileNote } from '../../inbound-file.ts';
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
  const refused = (problem: { tooLarge: boolean; reason: string }): Fetched => ({
    ok: false,
    note: fileNote(ref.name, { ok: false, ...problem }),
    reason: problem.reason,
  });
  const tooLarge = (size: number) => refused({ tooLarge: true, reason: `${size} bytes` });
  if (ref.size !== undefined && ref.size > source.maxBytes) return tooLarge(ref.size);
  const file = await source.api.getFile(ref.fileId, bounded(GET_FILE_TIMEOUT_MS, source.signal));
  if (file.file_size !== undefined && file.file_size > source.maxBytes) return tooLarge(file.file_size);
  const url = downloadUrl(source.apiRoot, source.token, file.file_path);
  if (url === null) return refused({ tooLarge: false, reason: 'the server named an unsafe file path' });
  const fetched = await fetchInboundFile(url, {
    allowedOrigins: new Set([new URL(source.apiRoot).origin]),
    maxBytes: source.maxBytes,
    timeoutMs: DOWNLOAD_TIMEOUT_MS,
    signal: source.signal,
  });
  if (!fetched.ok) return refused(fetched);
  return {
    ok: true,
    attachment: { name: ref.name, type: ref.type, size: fetched.data.length, data: fetched.data },
  };
}

/** The download URL, or null when the path could leave the API's file folder or origin. */
export function downloadUrl(apiRoot: string, token: string, filePath: string | undefined): string | null {
  if (filePath === undefined || !SAFE_FILE_PATH.test(filePath) || filePath.startsWith('/')) return null;
  const url = new URL(`${apiRoot}/file/bot${token}/${filePath}`);
  return url.origin === new URL(apiRoot).origin ? url.href : null;
}
