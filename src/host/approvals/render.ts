// What an approval card says: every field of the payload, nested objects and arrays included, each
// value JSON-quoted so a value cannot pass itself off as another line of the card. Nothing is cut:
// a payload too big to show in full is refused when it is requested, never shortened on the card.

/** Past this, a card would not fit the channels we know; the request is refused instead. */
export const MAX_RENDERED_CHARS = 16_000;

/** One line per scalar field, `key: value`, indented by depth; arrays list their items with `-`. */
export function renderFields(value: unknown, indent = ''): string[] {
  if (Array.isArray(value)) {
    if (value.length === 0) return [`${indent}[]`];
    return value.flatMap((item) => {
      if (isContainer(item) && !isEmpty(item)) return [`${indent}-`, ...renderFields(item, `${indent}  `)];
      return [`${indent}- ${scalar(item)}`];
    });
  }
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1));
    if (entries.length === 0) return [`${indent}{}`];
    return entries.flatMap(([key, item]) => {
      if (isContainer(item) && !isEmpty(item))
        return [`${indent}${label(key)}:`, ...renderFields(item, `${indent}  `)];
      return [`${indent}${label(key)}: ${scalar(item)}`];
    });
  }
  return [`${indent}${scalar(value)}`];
}

/** The card's text: what approving does, then every field of the payload. */
export function renderEffect(effect: string, payload: unknown): string {
  return [effect, '', ...renderFields(payload)].join('\n');
}

function scalar(value: unknown): string {
  if (Array.isArray(value)) return '[]';
  if (value !== null && typeof value === 'object') return '{}';
  // JSON text: strings quoted with their newlines and quotes escaped, so each field is one line.
  return JSON.stringify(value) ?? 'null';
}

/** Plain keys as they are; anything else quoted, so a key cannot contain ": " and fake a field. */
function label(key: string): string {
  return /^[A-Za-z0-9_.-]+$/.test(key) ? key : JSON.stringify(key);
}

const isContainer = (value: unknown): value is object => value !== null && typeof value === 'object';
const isEmpty = (value: object) =>
  Array.isArray(value) ? value.length === 0 : Object.keys(value).length === 0;
