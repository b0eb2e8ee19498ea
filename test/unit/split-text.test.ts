import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { splitText } from '../../src/host/channels/split-text.ts';

const words = (text: string) => text.split(/\s+/).filter(Boolean);

describe('splitText', () => {
  it('keeps a text within the limit in one piece', () => {
    expect(splitText('hello world', 4096)).toEqual(['hello world']);
    expect(splitText('', 4096)).toEqual(['']);
  });

  it.each([4096, 2000, 3000])('cuts a long reply at spaces for a limit of %i, every word kept', (limit) => {
    const text = Array.from({ length: 5000 }, (_, i) => `word${i}`).join(' ');
    const pieces = splitText(text, limit);
    expect(pieces.length).toBeGreaterThan(1);
    for (const piece of pieces) expect(piece.length).toBeLessThanOrEqual(limit);
    expect(pieces.join(' ')).toBe(text);
  });

  it('prefers a paragraph break, then a line, then a sentence end', () => {
    const para = `${'a '.repeat(30)}\n\n${'b '.repeat(30)}`;
    expect(splitText(para, 80)[0]).toBe('a '.repeat(30).trim());
    // The paragraph break goes with the cut: the next piece does not start with a blank line.
    expect(splitText(para, 80)[1]).toBe('b '.repeat(30));
    const sentence = `${'first sentence goes here. '.repeat(3)}and then more words follow`;
    expect(splitText(sentence, 90)[0]!.endsWith('.')).toBe(true);
  });

  it('does not cut inside an inline code span or a link when another cut exists', () => {
    const link = '[the documentation](https://example.com/a/very/long/path)';
    const text = `${'x'.repeat(30)} see ${link} now`;
    const pieces = splitText(text, 80);
    expect(pieces.some((p) => p.includes(link))).toBe(true);
    const code = `${'y'.repeat(40)} \`npm run some long command\` done`;
    expect(splitText(code, 60).some((p) => p.includes('`npm run some long command`'))).toBe(true);
  });

  it('closes a code block it cuts and reopens it, with its language, in the next piece', () => {
    const body = Array.from({ length: 300 }, (_, i) => `const x${i} = ${i};`).join('\n');
    const pieces = splitText(`Here:\n\`\`\`ts\n${body}\n\`\`\`\ndone`, 2000);
    expect(pieces.length).toBeGreaterThan(2);
    for (const piece of pieces) {
      expect(piece.length).toBeLessThanOrEqual(2000);
      expect((piece.match(/^```/gm) ?? []).length % 2).toBe(0); // every piece's fences are balanced
    }
    expect(pieces[1]!.startsWith('```ts\n')).toBe(true);
    const lines = pieces
      .join('\n')
      .split('\n')
      .filter((l) => l.startsWith('const'));
    expect(lines).toEqual(body.split('\n'));
  });

  it('hard-cuts only a word longer than the limit, never inside a surrogate pair', () => {
    const pieces = splitText('😀'.repeat(40), 31);
    for (const piece of pieces) expect(piece).not.toMatch(/^[\udc00-\udfff]|[\ud800-\udbff]$/);
    expect(pieces.join('')).toBe('😀'.repeat(40));
  });

  it('refuses a limit too small to be meant', () => {
    expect(() => splitText('x', 3)).toThrow(RangeError);
  });

  it('loses no word and keeps every piece within the limit, for any text', () => {
    const word = fc.stringMatching(/^[a-z*[\]()`.!]{1,12}$/).filter((w) => !w.includes('``'));
    const text = fc.array(fc.tuple(word, fc.constantFrom(' ', '\n', '\n\n', '. ')), { maxLength: 400 });
    fc.assert(
      fc.property(text, fc.integer({ min: 16, max: 300 }), (parts, limit) => {
        const input = parts.map(([w, sep]) => w + sep).join('');
        const pieces = splitText(input, limit);
        for (const piece of pieces) expect(piece.length).toBeLessThanOrEqual(limit);
        expect(words(pieces.join(' '))).toEqual(words(input));
      }),
      { numRuns: 300 },
    );
  });
});
