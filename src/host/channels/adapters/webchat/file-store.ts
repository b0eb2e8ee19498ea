// The files replies carry: copied into the channel's folder when a reply is sent (the agent's outbox
// may be pruned while the chat still shows the link) and served from there at /api/files/:folder/:name.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, mkdir, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { Readable } from 'node:stream';
import { Hono } from 'hono';
import type { Context } from 'hono';
import { ChannelSendError } from '../../channel.ts';
import { errorText } from '../../../../shared/error-text.ts';
import type { Poster } from './auth.ts';

/** Outbound file folders: a hash of (chat, idempotency key), so any key shape gives a safe folder name. */
const FOLDER_PATTERN = /^[A-Za-z0-9_-]{22}$/;
/** A plain file name: no folder separators, not '.' or '..'. */
const FILE_NAME_PATTERN = /^(?!\.\.?$)[^/\\\0]{1,255}$/;
/** Types served inline cannot run script on this origin; everything else is a download. */
const INLINE_TYPES: Record<string, string> = {
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.txt': 'text/plain; charset=utf-8',
};

export interface StoredFile {
  name: string;
  url: string;
}

export function createFileStore(options: {
  filesDir: string;
  mountPath: string;
  identify: (c: Context) => Poster | Response;
}) {
  const { filesDir, mountPath } = options;
  const routes = new Hono();
  routes.get('/api/files/:folder/:name', (c) => {
    const poster = options.identify(c);
    return poster instanceof Response ? poster : serveFile(c, c.req.param('folder'), c.req.param('name'));
  });

  return { routes, storeFiles };

  /** Copies a reply's files; their links go in the event. */
  async function storeFiles(
    chatId: string,
    key: string,
    files: { name: string; path: string }[],
  ): Promise<StoredFile[]> {
    if (files.length === 0) return [];
    const bad = files.find((file) => !FILE_NAME_PATTERN.test(file.name));
    if (bad) {
      throw new ChannelSendError(
        'invalid_request',
        `file name ${JSON.stringify(bad.name)} of message ${key} is not plain`,
      );
    }
    const folder = createHash('sha256').update(`${chatId}\0${key}`).digest('base64url').slice(0, 22);
    await mkdir(join(filesDir, folder), { recursive: true });
    return Promise.all(
      files.map(async (file) => {
        await copyFile(file.path, join(filesDir, folder, file.name)).catch((err: unknown) => {
          throw copyError(err, file, key);
        });
        return { name: file.name, url: `${mountPath}/api/files/${folder}/${encodeURIComponent(file.name)}` };
      }),
    );
  }

  async function serveFile(c: Context, folder: string, name: string): Promise<Response> {
    if (!FOLDER_PATTERN.test(folder) || !FILE_NAME_PATTERN.test(name)) {
      return c.json({ error: 'not a file path this channel serves' }, 400);
    }
    const path = join(filesDir, folder, name);
    const info = await stat(path).catch(() => null);
    if (!info?.isFile()) return c.json({ error: `no file ${name} in ${folder}` }, 404);
    const inlineType = INLINE_TYPES[extname(name).toLowerCase()];
    const body = Readable.toWeb(createReadStream(path)) as ReadableStream<Uint8Array>;
    return c.body(body, 200, {
      'content-type': inlineType ?? 'application/octet-stream',
      'content-length': String(info.size),
      'content-disposition': `${inlineType ? 'inline' : 'attachment'}; filename*=UTF-8''${encodeURIComponent(name)}`,
      'x-content-type-options': 'nosniff',
    });
  }
}

function copyError(err: unknown, file: { name: string; path: string }, key: string): ChannelSendError {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT'
    ? new ChannelSendError('not_found', `file ${file.name} of message ${key} does not exist at ${file.path}`)
    : new ChannelSendError(
        'transient',
        `file ${file.name} of message ${key} could not be copied (${errorText(err)})`,
      );
}

export type FileStore = ReturnType<typeof createFileStore>;
