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

/**
 * The wall-clock time in the zone, as a person reads it: "2026-06-01 09:00 GMT+02:00" (long offsets,
 * what agents are shown) or "2026-06-01 09:00 GMT+2" (short).
 */
export function localTime(iso: string, timezone: string, offset: 'long' | 'short' = 'long'): string {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-US', {
      timeZone: timezone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      timeZoneName: offset === 'long' ? 'longOffset' : 'shortOffset',
    })
      .formatToParts(new Date(iso))
      .map((p) => [p.type, p.value]),
  );
  // ICU names a zero offset plain "GMT".
  const zone =
    parts.timeZoneName === 'GMT' ? (offset === 'long' ? 'GMT+00:00' : 'GMT+0') : parts.timeZoneName;
  return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute} ${zone}`;
}
