// A container's stdout/stderr as lines. The container is hostile (DESIGN §10): a line may be any
// length, or never end. Each byte is looked at once and at most maxLineBytes of one line are held,
// so a 100 MB line without a newline costs linear time and a bounded amount of memory.
import { StringDecoder } from 'node:string_decoder';

/** Longest line kept whole; a longer one is cut here and marked (DESIGN §10, docs/security.md). */
export const MAX_LOG_LINE_BYTES = 16 * 1024;

const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;

export interface LineSplitter {
  /** Feeds bytes in; complete lines are pushed as they are found. */
  write(chunk: Buffer): void;
  /** The output ended: a last line without a newline is pushed. */
  flush(): void;
}

/**
 * Splits a byte stream into lines of at most maxLineBytes bytes (UTF-8 decoded, a trailing CR
 * removed). A longer line is pushed as soon as it passes the limit, cut at a character boundary
 * and marked `…[line cut at N bytes]`; its rest is dropped, and when it ends one more line says how
 * many bytes were dropped.
 */
export function createLineSplitter(
  push: (line: string) => void,
  maxLineBytes: number = MAX_LOG_LINE_BYTES,
): LineSplitter {
  let held: Buffer[] = [];
  let heldBytes = 0;
  /** Bytes of the current line dropped after its cut; -1 while the line is still whole. */
  let dropped = -1;

  return { write, flush };

  function write(chunk: Buffer): void {
    let start = 0;
    while (start < chunk.length) {
      const newline = chunk.indexOf(NEWLINE, start);
      const end = newline === -1 ? chunk.length : newline;
      take(chunk, start, end);
      if (newline === -1) return;
      endLine();
      start = newline + 1;
    }
  }

  function flush(): void {
    if (heldBytes > 0 || dropped >= 0) endLine();
  }

  function take(chunk: Buffer, start: number, end: number): void {
    if (start === end) return;
    if (dropped >= 0) {
      dropped += end - start;
      return;
    }
    const room = maxLineBytes - heldBytes;
    const kept = Math.min(room, end - start);
    // A copy: a slice would keep the whole chunk alive as long as the line is held.
    held.push(Buffer.from(chunk.subarray(start, start + kept)));
    heldBytes += kept;
    if (end - start > room) {
      dropped = end - start - room;
      // Only complete characters: the decoder keeps back a multi-byte character the cut split.
      const text = new StringDecoder('utf8').write(Buffer.concat(held, heldBytes));
      push(`${text}…[line cut at ${maxLineBytes} bytes]`);
      held = [];
      heldBytes = 0;
    }
  }

  function endLine(): void {
    if (dropped >= 0) {
      // The cut part was pushed already; what remains to say is how much was lost.
      push(`…[line cut: ${dropped + heldBytes} more bytes dropped]`);
    } else {
      let line = Buffer.concat(held, heldBytes);
      if (line.length > 0 && line[line.length - 1] === CARRIAGE_RETURN) line = line.subarray(0, -1);
      push(line.toString('utf8'));
    }
    held = [];
    heldBytes = 0;
    dropped = -1;
  }
}

const HEADER_BYTES = 8;
const STDERR = 2;

/**
 * Splits the engine's multiplexed log stream (8-byte header: stream type, 3 zero bytes, payload
 * length big-endian, then the payload) into stdout and stderr bytes. Payloads are passed on as
 * slices of the chunks they arrived in, never gathered: the work is linear and only a partial header
 * is held. (dockerode's demuxStream concatenates every chunk of a frame into one buffer.)
 */
export function createFrameDemuxer(
  stdout: (bytes: Buffer) => void,
  stderr: (bytes: Buffer) => void,
): (chunk: Buffer) => void {
  const header = Buffer.alloc(HEADER_BYTES);
  let headerBytes = 0;
  let payloadLeft = 0;
  let target = stdout;
  return (chunk) => {
    let at = 0;
    while (at < chunk.length) {
      if (payloadLeft > 0) {
        const end = Math.min(chunk.length, at + payloadLeft);
        target(chunk.subarray(at, end));
        payloadLeft -= end - at;
        at = end;
        continue;
      }
      const taken = chunk.copy(
        header,
        headerBytes,
        at,
        Math.min(chunk.length, at + HEADER_BYTES - headerBytes),
      );
      headerBytes += taken;
      at += taken;
      if (headerBytes < HEADER_BYTES) return;
      headerBytes = 0;
      target = header[0] === STDERR ? stderr : stdout;
      payloadLeft = header.readUInt32BE(4);
    }
  };
}
