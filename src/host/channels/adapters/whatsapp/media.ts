// Media in and out. Inbound: `GET /{media-id}` names a short-lived URL (on lookaside.fbsbx.com in
// production), fetched with the access token only when its origin is allowed (inbound-file.ts), never
// more than the size cap, and checked against the sha256 the payload and the lookup give. Outbound: the
// file is uploaded to `/{phone-number-id}/media` and sent by its media id.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import { ChannelSendError, type InboundAttachment } from '../../channel.ts';
import { fetchInboundFile, fileNote, type FetchedFile } from '../../inbound-file.ts';
import { graphCall, type GraphClient } from './graph.ts';
import type { MediaRef } from './payload.ts';

const LOOKUP_TIMEOUT_MS = 10_000;
const DOWNLOAD_TIMEOUT_MS = 60_000;
const UPLOAD_TIMEOUT_MS = 120_000;

export interface MediaAccess {
  graph: GraphClient;
  /** Origins the token and the download may go to: the API's own and the configured media origins. */
  allowedOrigins: ReadonlySet<string>;
  maxBytes: number;
}

/** The file of a media message, or the note that replaces it in the text. */
export async function downloadMedia(
  ref: MediaRef,
  access: MediaAccess,
): Promise<{ attachment: InboundAttachment } | { note: string }> {
  const name = fileName(ref);
  const fetched = await fetchMedia(ref, access);
  if (!fetched.ok) return { note: fileNote(name, fetched) };
  return { attachment: { name, type: ref.mimeType, size: fetched.data.length, data: fetched.data } };
}

async function fetchMedia(ref: MediaRef, access: MediaAccess): Promise<FetchedFile> {
  let lookup: Record<string, unknown>;
  try {
    lookup = await graphCall(
      access.graph,
      'GET',
      encodeURIComponent(ref.mediaId),
      undefined,
      'media lookup',
      LOOKUP_TIMEOUT_MS,
    );
  } catch (error) {
    return { ok: false, tooLarge: false, reason: error instanceof Error ? error.message : 'lookup failed' };
  }
  const size = Number(lookup.file_size ?? 0);
  if (size > access.maxBytes) return { ok: false, tooLarge: true, reason: `${size} bytes` };
  if (typeof lookup.url !== 'string') return { ok: false, tooLarge: false, reason: 'no url' };
  const fetched = await fetchInboundFile(lookup.url, {
    allowedOrigins: access.allowedOrigins,
    maxBytes: access.maxBytes,
    timeoutMs: DOWNLOAD_TIMEOUT_MS,
    signal: access.graph.signal(),
    headers: { authorization: `Bearer ${access.graph.token()}` },
  });
  const expected = typeof lookup.sha256 === 'string' ? lookup.sha256 : ref.sha256;
  if (fetched.ok && expected && !sha256Matches(fetched.data, expected)) {
    return { ok: false, tooLarge: false, reason: 'checksum mismatch' };
  }
  return fetched;
}

/** Meta gives the sha256 as hex (lookups) or base64 (some payloads): either is accepted. */
function sha256Matches(data: Buffer, expected: string): boolean {
  const digest = createHash('sha256').update(data).digest();
  return expected.toLowerCase() === digest.toString('hex') || expected === digest.toString('base64');
}

const EXTENSIONS: Record<string, string> = {
  'image/jpeg': 'jpg',
  'image/png': 'png',
  'image/webp': 'webp',
  'audio/ogg': 'ogg',
  'audio/mpeg': 'mp3',
  'audio/mp4': 'm4a',
  'audio/aac': 'aac',
  'video/mp4': 'mp4',
  'application/pdf': 'pdf',
  'text/plain': 'txt',
};

/** The payload's file name (documents), else `<kind>.<ext>`; no folders or control characters. */
function fileName(ref: MediaRef): string {
  const given = ref.filename ? [...ref.filename].filter((c) => c >= ' ' && c !== '\u007f').join('') : '';
  const cleaned = basename(given.replace(/\\/g, '/')).trim().slice(0, 255);
  if (cleaned !== '' && cleaned !== '.' && cleaned !== '..') return cleaned;
  const ext = EXTENSIONS[ref.mimeType.split(';')[0]!.trim()] ?? 'bin';
  return `${ref.kind}.${ext}`;
}

const MIME_BY_EXTENSION: Record<string, string> = {
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.png': 'image/png',
  '.pdf': 'application/pdf',
  '.txt': 'text/plain',
  '.csv': 'text/csv',
  '.json': 'application/json',
  '.doc': 'application/msword',
  '.docx': 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  '.xls': 'application/vnd.ms-excel',
  '.xlsx': 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  '.ppt': 'application/vnd.ms-powerpoint',
  '.pptx': 'application/vnd.openxmlformats-officedocument.presentationml.presentation',
};

/** WhatsApp images are JPEG or PNG up to 5 MB; anything else goes as a document (up to 100 MB). */
const MAX_IMAGE_BYTES = 5 * 1024 * 1024;
const MAX_DOCUMENT_BYTES = 100 * 1024 * 1024;

/** Uploads the file; the message to send it with (an image or a document, by media id). */
export async function uploadMedia(
  graph: GraphClient,
  phoneNumberId: string,
  file: { name: string; path: string },
): Promise<{ type: 'image' | 'document'; payload: Record<string, unknown> }> {
  const mime = MIME_BY_EXTENSION[extname(file.name).toLowerCase()] ?? 'application/octet-stream';
  let bytes: Buffer;
  try {
    bytes = await readFile(file.path);
  } catch {
    throw new ChannelSendError('not_found', `whatsapp: the file ${file.name} cannot be read`);
  }
  if (bytes.length > MAX_DOCUMENT_BYTES) {
    throw new ChannelSendError('too_large', `whatsapp: ${file.name} is over 100 MB`);
  }
  const form = new FormData();
  form.set('messaging_product', 'whatsapp');
  form.set('type', mime);
  form.set('file', new Blob([bytes], { type: mime }), file.name);
  const uploaded = await graphCall(
    graph,
    'POST',
    `${phoneNumberId}/media`,
    form,
    'media upload',
    UPLOAD_TIMEOUT_MS,
  );
  if (typeof uploaded.id !== 'string') {
    throw new ChannelSendError('unknown', 'whatsapp media upload: no media id in the answer');
  }
  const image = (mime === 'image/jpeg' || mime === 'image/png') && bytes.length <= MAX_IMAGE_BYTES;
  return image
    ? { type: 'image', payload: { id: uploaded.id } }
    : { type: 'document', payload: { id: uploaded.id, filename: file.name } };
}
