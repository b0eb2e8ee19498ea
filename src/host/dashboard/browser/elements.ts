// Builds DOM nodes. Text always goes in as text nodes, never as HTML: everything shown comes from the
// API, and chat names, payloads and error messages are written by people and agents.

type Child = Node | string | number | null | undefined | false;
type Props = Record<string, string | boolean | ((event: Event) => void) | undefined>;

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Props = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value === undefined || value === false) continue;
    if (typeof value === 'function') node.addEventListener(name.replace(/^on/, ''), value);
    else if (value === true) node.setAttribute(name, '');
    else node.setAttribute(name, value);
  }
  node.append(...childNodes(children));
  return node;
}

function childNodes(children: Child[]): Node[] {
  return children.flatMap((c) =>
    c === null || c === undefined || c === false
      ? []
      : [typeof c === 'object' ? c : document.createTextNode(String(c))],
  );
}

/** A table of rows; an empty list shows `empty` instead. */
export function table(head: string[], rows: Child[][], empty: string): Node {
  if (rows.length === 0) return el('p', { class: 'muted' }, empty);
  return el(
    'div',
    { class: 'scroll' },
    el(
      'table',
      {},
      el('thead', {}, el('tr', {}, ...head.map((h) => el('th', {}, h)))),
      el('tbody', {}, ...rows.map((r) => el('tr', {}, ...r.map((cell) => el('td', {}, cell))))),
    ),
  );
}

/** "3 min ago" for an ISO time, with the exact time on hover; "-" for none. */
export function ago(iso: string | null | undefined): Node {
  if (!iso) return document.createTextNode('-');
  const seconds = Math.round((Date.now() - Date.parse(iso)) / 1000);
  const text =
    seconds < 60
      ? `${Math.max(0, seconds)} s ago`
      : seconds < 3600
        ? `${Math.round(seconds / 60)} min ago`
        : seconds < 86_400
          ? `${Math.round(seconds / 3600)} h ago`
          : iso.slice(0, 16).replace('T', ' ');
  return el('time', { datetime: iso, title: iso }, text);
}

export function errorLine(text: string): Node {
  return el('p', { class: 'error', role: 'alert' }, text);
}
