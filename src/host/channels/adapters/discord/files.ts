// Inbound attachments: fetched only from the configured CDN's origin and read no further than the size
// cap (inbound-file.ts).
import type { InboundAttachment } from '../../channel.ts';
import { fetchInboundFile, fileNote, type FetchedFile } from '../../inbound-file.ts';
import type { DiscordAttachment } from './normalize.ts';

export interface Downloaded {
  attachments: InboundAttachment[];
  /** One line per attachment Warren did not take, for the message text. */
  notes: string[];
}

export interface DownloadOptions {
  cdnOrigin: string;
  maxBytes: number;
  timeoutMs: number;
  signal: AbortSignal;
}

export async function downloadAttachments(
  list: DiscordAttachment[],
  options: DownloadOptions,
): Promise<Downloaded> {
  const result: Downloaded = { attachments: [], notes: [] };
  const allowedOrigins = new Set([options.cdnOrigin]);
  for (const attachment of list) {
    const name = attachment.filename;
    const fetched: FetchedFile =
      attachment.size > options.maxBytes
        ? { ok: false, tooLarge: true, reason: `${attachment.size} bytes` }
        : await fetchInboundFile(attachment.url, { ...options, allowedOrigins });
    if (!fetched.ok) result.notes.push(fileNote(name, fetched));
    else {
      const type = attachment.content_type ?? 'application/octet-stream';
      result.attachments.push({ name, type, size: fetched.data.length, data: fetched.data });
    }
  }
  return result;
}
