// Pure: whether the receiving server vouched for a mail's From address. Anyone can write any From; a
// server that checks DMARC records its verdict in an Authentication-Results header (RFC 8601) named
// after itself, and removes such headers that arrived with the mail. The first one under its name is
// its own; a mail is taken as from its address only when that header says dmarc=pass for the From's
// domain.

const MAX_LINE = 8 * 1024;

export function senderVerified(
  headerLines: readonly { key: string; line: string }[],
  authservId: string,
  fromAddress: string,
): boolean {
  const wanted = authservId.toLowerCase();
  const header = headerLines
    .filter((h) => h.key.toLowerCase() === 'authentication-results')
    .map((h) => unfold(h.line.slice(0, MAX_LINE)))
    .find((value) => servIdOf(value) === wanted);
  if (header === undefined) return false;
  const domain = fromAddress.split('@')[1]?.toLowerCase() ?? '';
  const dmarc = header
    .split(';')
    .slice(1)
    .map((part) => part.trim().toLowerCase())
    .filter((part) => /^dmarc\s*=/.test(part));
  return dmarc.some((part) => {
    if (!/^dmarc\s*=\s*pass\b/.test(part)) return false;
    const from = /\bheader\.from\s*=\s*"?([^\s;"]+)/.exec(part)?.[1];
    return from === undefined || from === domain;
  });
}

/** "Authentication-Results: mx.example.com 1; …" → "mx.example.com". */
function servIdOf(value: string): string {
  return (value.split(';')[0] ?? '').trim().split(/\s+/)[0]?.toLowerCase() ?? '';
}

/** The header's value, its line breaks undone and comments dropped. */
function unfold(line: string): string {
  const value = line.slice(line.indexOf(':') + 1);
  return value.replace(/\r?\n[ \t]+/g, ' ').replace(/\([^()]*\)/g, ' ');
}
