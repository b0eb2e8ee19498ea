// Splitting a reply to a platform's length limit without losing or mangling any of it: cut at a
// paragraph, a line, a sentence or a space, never inside a word, a link or an inline code span where
// another cut exists, and a fenced code block cut in two is closed and reopened so both halves render.

const FENCE = /^(```|~~~)([^\n`]*)$/gm;

/** The text in pieces of at most `limit` characters; joined, they hold every word of the text in order. */
export function splitText(text: string, limit: number): string[] {
  if (!Number.isInteger(limit) || limit < 16) throw new RangeError(`split limit ${limit} is too small`);
  const pieces: string[] = [];
  let rest = text; // starts with the reopened fence when the previous piece ended inside a code block
  while (rest.length > limit) {
    const fenced = openFenceAt(rest, limit);
    // Inside a code block the piece ends with a closing fence: keep room for it.
    const room = fenced ? limit - fenced.close.length - 1 : limit;
    const cut = bestCut(rest, room, fenced !== undefined);
    const open = openFenceAt(rest, cut);
    // A fence line too long to repeat is not reopened: the next piece is plain text.
    const reopen = open && open.line.length < limit / 4 ? `${open.line}\n` : '';
    pieces.push(rest.slice(0, cut).replace(/\s+$/, '') + (open ? `\n${open.close}` : ''));
    // The separator goes with the cut: a paragraph break must not start the next piece with a blank
    // line (inside a code block blank lines are content and stay).
    rest = reopen + rest.slice(cut).replace(open ? /^[ \t]*\n?/ : /^[ \t]*\n?(?:[ \t]*\n)*/, '');
  }
  if (rest.trim().length > 0 || pieces.length === 0) pieces.push(rest);
  return pieces;
}

/** The fence still open at `position` (an odd number of fence lines before it), if any. */
function openFenceAt(text: string, position: number): { line: string; close: string } | undefined {
  let open: { line: string; close: string } | undefined;
  for (const match of text.slice(0, position).matchAll(FENCE)) {
    if (open && match[1] === open.close && match[2]!.trim() === '') open = undefined;
    else if (!open) open = { line: match[0], close: match[1]! };
  }
  return open;
}

/** Where to cut within the first `room` characters: the best boundary, else a hard cut. */
function bestCut(text: string, room: number, inCode: boolean): number {
  const window = text.slice(0, room + 1);
  // Spans are found past the window too: one that crosses its end must not be cut either.
  const guarded = inCode ? [] : protectedSpans(text.slice(0, room * 2 + 1));
  const outside = (i: number) => !guarded.some(([a, b]) => i > a && i < b);
  const floor = Math.floor(room / 3); // a cut earlier than this wastes too much of the piece
  const boundaries = inCode ? [/\n/g] : [/\n\s*\n/g, /\n/g, /[.!?;:](?=\s)/g, /\s/g];
  const preferences = [
    (i: number) => i > floor && outside(i),
    (i: number) => i > 0 && outside(i),
    (i: number) => i > 0,
  ];
  for (const allowed of preferences) {
    for (const boundary of boundaries) {
      const cut = lastMatch(window, boundary, allowed);
      if (cut !== undefined) return cut;
    }
  }
  // One word longer than the room: cut it, but never between the halves of a surrogate pair.
  const code = text.charCodeAt(room - 1);
  return code >= 0xd800 && code <= 0xdbff ? room - 1 : room;
}

/** The end of the last match at an allowed position within the window (sentence ends keep their mark). */
function lastMatch(window: string, boundary: RegExp, allowed: (i: number) => boolean): number | undefined {
  let best: number | undefined;
  for (const match of window.matchAll(boundary)) {
    const at = /[.!?;:]/.test(match[0]) ? match.index + 1 : match.index;
    if (at < window.length && allowed(at)) best = at;
  }
  return best;
}

/** Spans a cut should not fall into: inline code, markdown links, bold and strike-through. */
function protectedSpans(text: string): [number, number][] {
  const spans: [number, number][] = [];
  for (const pattern of [/`[^`\n]+`/g, /\[[^\]\n]*\]\([^)\s]*\)/g, /\*\*[^*\n]+\*\*/g, /~~[^~\n]+~~/g]) {
    for (const match of text.matchAll(pattern)) spans.push([match.index, match.index + match[0].length]);
  }
  return spans;
}
