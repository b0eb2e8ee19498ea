// Files in and out. The URLs come from Slack's payloads and answers (hostile input): the bot token and
// the file's bytes go only to an origin the installation was configured with (SSRF and token leaks;
// inbound-file.ts fetches).
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import type { WebClient } from '@slack/web-api';
import { ChannelSendError, type InboundAttachment } from '../../channel.ts';
import type { OutboundPiece } from '../../platform.ts';
import { escapeMrkdwn } from './blocks.ts';
import { codeForHttpStatus } from '../../http-answers.ts';
import { describe } from './errors.ts';
import { fetchInboundFile, fileNote, originOf, type FetchedFile } from '../../inbound-file.ts';
import type { SlackFileRef } from './normalize.ts';
import { deadline } from '../../deadline.ts';

export interface FileAccess {
  /** Origins (API base, files base) the token and bytes may go to. */
  allowedOrigins: ReadonlySet<string>;
  botToken: () => string;
  maxInboundFileBytes: number;
  /** Aborted when the adapter stops. */
  signal: () => AbortSignal;
  timeoutMs: number;
}

/** The files' bytes as attachments; a file that is too large or unreachable becomes a note in the text. */
export async function downloadFiles(
  files: SlackFileRef[],
  access: FileAccess,
): Promise<{ attachments: InboundAttachment[]; notes: string[] }> {
  const attachments: InboundAttachment[] = [];
  const notes: string[] = [];
  for (const file of files) {
    const name = safeName(file.name);
    const fetched: FetchedFile =
      file.size > access.maxInboundFileBytes
        ? { ok: false, tooLarge: true, reason: `${file.size} bytes` }
        : file.url === undefined
          ? { ok: false, tooLarge: false, reason: 'no url' }
          : await fetchInboundFile(file.url, {
              allowedOrigins: access.allowedOrigins,
              maxBytes: access.maxInboundFileBytes,
              timeoutMs: access.timeoutMs,
              signal: access.signal(),
              headers: { authorization: `Bearer ${access.botToken()}` },
            });
    if (fetched.ok)
      attachments.push({ name, type: file.type, size: fetched.data.length, data: fetched.data });
    else notes.push(fileNote(name, fetched));
  }
  return { attachments, notes };
}

/** files.getUploadURLExternal → POST the bytes to the upload URL (allowed origin only) → complete. */
export async function uploadFile(
  client: WebClient,
  piece: OutboundPiece & { file: { name: string; path: string } },
  threadTs: string | undefined,
  access: FileAccess,
): Promise<{ platformMessageId: string }> {
  const bytes = await readFile(piece.file.path);
  const name = safeName(piece.file.name);
  const { upload_url: uploadUrl, file_id: fileId } = await client.files.getUploadURLExternal({
    filename: name,
    length: bytes.length,
  });
  if (!uploadUrl || !fileId) throw new ChannelSendError('unknown', 'Slack gave no upload URL for the file');
  const origin = originOf(uploadUrl);
  if (origin === undefined || !access.allowedOrigins.has(origin)) {
    throw new ChannelSendError(
      'destination_denied',
      `Slack's upload URL is on ${origin ?? 'no web origin'}: refused`,
    );
  }
  let response: Response;
  try {
    response = await fetch(uploadUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: bytes,
      redirect: 'error',
      signal: deadline(access.timeoutMs, access.signal()),
    });
  } catch (error) {
    throw new ChannelSendError('transient', `file upload: ${describe(error)}`);
  }
  await response.body?.cancel();
  if (!response.ok)
    throw new ChannelSendError(codeForHttpStatus(response.status), `file upload: HTTP ${response.status}`);

  const done = await client.files.completeUploadExternal({
    files: [{ id: fileId, title: name }],
    channel_id: piece.chatId,
    ...(threadTs !== undefined && { thread_ts: threadTs }),
    ...(piece.text.trim() !== '' && { initial_comment: escapeMrkdwn(piece.text) }),
  });
  return { platformMessageId: shareTs(done.files?.[0], piece.chatId) ?? `file:${fileId}` };
}

/** The message ts of the file's share in the chat, when Slack already reports it. */
function shareTs(file: unknown, chatId: string): string | undefined {
  const shares = (file as { shares?: Record<string, Record<string, { ts?: unknown }[]>> } | undefined)
    ?.shares;
  for (const scope of Object.values(shares ?? {})) {
    const ts = scope[chatId]?.[0]?.ts;
    if (typeof ts === 'string') return ts;
  }
  return undefined;
}

/** A file name without folders or control characters, at most 255 characters. */
function safeName(name: string): string {
  const withoutControls = [...name]
    .filter((char) => char.charCodeAt(0) >= 0x20 && char !== '\u007f')
    .join('');
  const cleaned = basename(withoutControls.replace(/\\/g, '/')).trim();
  return (cleaned === '' || cleaned === '.' || cleaned === '..' ? 'file' : cleaned).slice(0, 255);
}
