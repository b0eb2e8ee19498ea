// Container output as bounded lines: what a hostile container's stdout can and cannot do to the host.
import { describe, expect, test } from 'vitest';
import { createFrameDemuxer, createLineSplitter } from '../../src/host/containers/index.ts';

function split(chunks: (string | Buffer)[], max = 16): string[] {
  const lines: string[] = [];
  const splitter = createLineSplitter((line) => lines.push(line), max);
  for (const chunk of chunks) splitter.write(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
  splitter.flush();
  return lines;
}

describe('container output lines', () => {
  test('lines split across chunks come out whole, without their CR', () => {
    expect(split(['he', 'llo\r\nwor', 'ld\n', '\n', 'last'])).toEqual(['hello', 'world', '', 'last']);
  });

  test('a line longer than the limit is cut, marked, and its dropped size reported when it ends', () => {
    expect(split(['0123456789', 'abcdefghij', 'klm\nnext\n'])).toEqual([
      '0123456789abcdef…[line cut at 16 bytes]',
      '…[line cut: 7 more bytes dropped]',
      'next',
    ]);
  });

  test('a cut never splits a multi-byte character', () => {
    const lines = split(['aaaaaaaaaaaaaaa€€\n']); // € is 3 bytes: the cut at 16 falls inside the first
    expect(lines[0]).toBe('aaaaaaaaaaaaaaa…[line cut at 16 bytes]');
  });

  test('a line that never ends is cut once and reported at flush', () => {
    expect(split(Array.from({ length: 1000 }, () => 'x'.repeat(1000)))).toEqual([
      `${'x'.repeat(16)}…[line cut at 16 bytes]`,
      `…[line cut: ${1_000_000 - 16} more bytes dropped]`,
    ]);
  });

  test('a 100 MB line in small chunks is split in linear time', () => {
    const chunk = Buffer.alloc(8192, 0x61);
    const lines: string[] = [];
    const splitter = createLineSplitter((line) => lines.push(line));
    const started = performance.now();
    for (let i = 0; i < 12_800; i++) splitter.write(chunk);
    splitter.write(Buffer.from('\nafter\n'));
    const ms = performance.now() - started;
    expect(lines).toHaveLength(3);
    expect(lines[0]).toHaveLength(16 * 1024 + '…[line cut at 16384 bytes]'.length);
    expect(lines[1]).toBe(`…[line cut: ${12_800 * 8192 - 16 * 1024} more bytes dropped]`);
    expect(lines[2]).toBe('after');
    expect(ms).toBeLessThan(1000);
  });
});

function frame(type: 1 | 2, payload: string): Buffer {
  const header = Buffer.alloc(8);
  header[0] = type;
  header.writeUInt32BE(Buffer.byteLength(payload), 4);
  return Buffer.concat([header, Buffer.from(payload)]);
}

describe("the engine's multiplexed log stream", () => {
  test('frames cut anywhere, headers included, reach stdout and stderr in order', () => {
    const all = Buffer.concat([frame(1, 'out one\n'), frame(2, 'err\n'), frame(1, 'out two\n')]);
    for (const size of [1, 3, 7, 8, 9, all.length]) {
      const out: string[] = [];
      const err: string[] = [];
      const demux = createFrameDemuxer(
        (bytes) => out.push(bytes.toString()),
        (bytes) => err.push(bytes.toString()),
      );
      for (let at = 0; at < all.length; at += size) demux(all.subarray(at, at + size));
      expect(out.join('')).toBe('out one\nout two\n');
      expect(err.join('')).toBe('err\n');
    }
  });
});
