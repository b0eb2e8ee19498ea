// Inbound attachments: fetched only from the configured CDN's origin (an attachment URL is hostile input:
// anything else would let a message make the host fetch an internal address), never following
// redirects, and read no further than the size cap.
import type { InboundAttachment } from '../../channel.ts';
import type { DiscordAttachment } from './normalize.ts';
import { networkText } from './errors.ts';

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
  for (const attachment of list) {
    const name = attachment.filename;
    if (!sameOrigin(attachment.url, options.cdnOrigin)) {
      result.notes.push(`[file not fetched: ${name} (not on Discord's CDN)]`);
      continue;
    }
    if (attachment.size > options.maxBytes) {
      result.notes.push(tooLarge(name, attachment.size));
      continue;
    }
    const fetched = await fetchBounded(attachment.url, options);
    // The declared size lied: say what is known.
    if (fetched === 'too_large')
      result.notes.push(`[file too large: ${name} (over ${options.maxBytes} bytes)]`);
    else if (typeof fetched === 'string') result.notes.push(`[file not fetched: ${name} (${fetched})]`);
    else {
      const type = attachment.content_type ?? 'application/octet-stream';
      result.attachments.push({ name, type, size: fetched.length, data: fetched });
    }
  }
  return result;
}

/** The bytes, 'too_large' once the cap is passed, or why the fetch failed. */
async function fetchBounded(url: string, options: DownloadOptions): Promise<Buffer | string> {
  const signal = AbortSignal.any([options.signal, AbortSignal.timeout(options.timeoutMs)]);
  try {
    const response = await fetch(url, { redirect: 'error', signal });
    if (!response.ok || !response.body) return `CDN answered ${response.status}`;
    const chunks: Buffer[] = [];
    let total = 0;
    for await (const chunk of response.body) {
      total += chunk.byteLength;
      if (total > options.maxBytes) return 'too_large'; // leaving the loop cancels the body
      chunks.push(Buffer.from(chunk));
    }
    return Buffer.concat(chunks);
  } catch (err) {
    return networkText(err);
  }
}

function sameOrigin(url: string, origin: string): boolean {
  try {
    return new URL(url).origin === origin;
  } catch {
    return false;
  }
}

function tooLarge(name: string, size: number): string {
  return `[file too large: ${name} (${size} bytes)]`;
}
