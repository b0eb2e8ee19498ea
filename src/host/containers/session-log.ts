import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, rename, stat } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * Appends a container's output lines to `file`, rotating it to `file.1` once it passes maxBytes,
 * so a chatty or looping agent can never fill the disk. Resolves when the lines end.
 */
export async function writeRotatedLog(
  lines: AsyncIterable<string>,
  file: string,
  maxBytes: number,
): Promise<void> {
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  let size = await stat(file).then(
    (s) => s.size,
    () => 0,
  );
  let out = open(file);
  try {
    for await (const line of lines) {
      const entry = `${new Date().toISOString()} ${line}\n`;
      if (size + entry.length > maxBytes && size > 0) {
        await close(out);
        await rename(file, `${file}.1`);
        out = open(file);
        size = 0;
      }
      out.write(entry);
      size += Buffer.byteLength(entry);
    }
  } finally {
    await close(out);
  }
}

// 0600: what an agent printed is the host's to read, not every local user's.
const open = (file: string) => createWriteStream(file, { flags: 'a', mode: 0o600 });
const close = (stream: WriteStream) => new Promise<void>((resolve) => stream.end(resolve));
