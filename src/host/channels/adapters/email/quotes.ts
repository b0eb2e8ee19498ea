// Pure: what the sender wrote in a mail, without the history their client quoted below it or the
// signature. Replies put new text on top; everything from the first "On … wrote:", "-----Original
// Message-----", Outlook header block or "-- " signature delimiter down is history or signature, and
// `>` lines anywhere are quotes. What is left is trimmed; if nothing is left, the text is kept whole.

/** A line that starts the quoted history or the signature: everything from it down goes. */
const CUT_LINES: RegExp[] = [
  /^-- ?$/, // the signature delimiter (RFC 3676: "-- ")
  /^On\s.{1,400}\swrote:\s*$/i, // Gmail, Apple Mail, Thunderbird
  /^Am\s.{1,400}\sschrieb\s.{0,200}:\s*$/i,
  /^Le\s.{1,400}\sa\s+écrit\s*:\s*$/i,
  /^El\s.{1,400}\sescribió:\s*$/i,
  /^-{2,}\s*Original Message\s*-{2,}\s*$/i, // Outlook, older clients
  /^-{2,}\s*Reply message\s*-{2,}\s*$/i,
  /^_{10,}\s*$/, // Outlook's rule above its header block
  /^Sent from my\s.{1,60}$/i, // mobile signatures
  /^Get Outlook for\s.{1,40}$/i,
];

/** The first line of an Outlook header block ("From: …" followed by Sent:/Date:/To:/Subject:). */
const HEADER_BLOCK_START = /^\*?From:\*?\s.+/i;
const HEADER_BLOCK_NEXT = /^\*?(Sent|Date|To|Cc|Subject):\*?\s/i;

export function stripQuotes(text: string): string {
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  const kept: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const trimmed = line.trim();
    if (startsHistory(trimmed, lines, i)) break;
    if (/^\s*>/.test(line)) continue;
    kept.push(line.replace(/\s+$/, ''));
  }
  const stripped = tidy(kept.join('\n'));
  return stripped === '' ? tidy(text.replace(/\r\n?/g, '\n')) : stripped;
}

function startsHistory(trimmed: string, lines: string[], i: number): boolean {
  if (CUT_LINES.some((re) => re.test(trimmed))) return true;
  // "On Mon, 1 Jan 2026 at 10:00, Bob <bob@example.com>\nwrote:" — clients wrap the attribution line.
  const next = lines[i + 1]?.trim() ?? '';
  if (/^On\s/i.test(trimmed) && /^(.{0,200}\s)?wrote:\s*$/i.test(next)) return true;
  if (HEADER_BLOCK_START.test(trimmed)) {
    const following = lines.slice(i + 1, i + 4).map((l) => l.trim());
    return following.some((l) => HEADER_BLOCK_NEXT.test(l));
  }
  return false;
}

function tidy(text: string): string {
  return text.replace(/\n{3,}/g, '\n\n').trim();
}
