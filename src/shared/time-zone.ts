// IANA time zone names, checked the same way by the host and the agent runner.

/** An IANA zone name, resolved to its canonical spelling; anything else is refused with the reason. */
export function checkTimezone(name: string): { ok: true; value: string } | { ok: false; error: string } {
  const trimmed = name.trim();
  if (!/^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+)*$/.test(trimmed)) {
    return { ok: false, error: `"${name}" is not an IANA time zone name (such as Europe/Berlin or UTC)` };
  }
  try {
    const canonical = new Intl.DateTimeFormat('en-US', { timeZone: trimmed }).resolvedOptions().timeZone;
    return { ok: true, value: canonical };
  } catch {
    return {
      ok: false,
      error: `unknown time zone "${name}" (use an IANA name such as Europe/Berlin or UTC)`,
    };
  }
}

/** Whether `name` is a zone this runtime knows (any spelling Intl accepts). */
export function isTimeZone(name: string): boolean {
  return checkTimezone(name).ok;
}
