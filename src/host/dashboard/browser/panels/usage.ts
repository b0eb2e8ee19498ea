// Tokens used per agent group and per user (`warren usage`), as two bar charts drawn in inline SVG.
import { itemsOf } from '../api.ts';
import { el } from '../elements.ts';
import type { Panel } from './panel.ts';

interface UsageRow {
  group: string;
  userId: string | null;
  userName: string | null;
  requests: number;
  errors: number;
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
}

const tokensOf = (u: UsageRow) => u.inputTokens + u.outputTokens + u.cacheReadTokens + u.cacheWriteTokens;

export const usagePanel: Panel = {
  id: 'usage',
  title: 'Usage',
  topics: ['usage'],
  async load({ api }) {
    const rows = itemsOf<UsageRow>(await api('/usage'));
    if (rows.length === 0) return [el('p', { class: 'muted' }, 'No model calls recorded.')];
    return [
      el('h3', {}, 'Tokens per group'),
      bars(sumBy(rows, (r) => r.group)),
      el('h3', {}, 'Tokens per user'),
      bars(sumBy(rows, (r) => r.userName ?? r.userId ?? '(no user)')),
    ];
  },
};

function sumBy(rows: UsageRow[], key: (r: UsageRow) => string): [string, number][] {
  const totals = new Map<string, number>();
  for (const r of rows) totals.set(key(r), (totals.get(key(r)) ?? 0) + tokensOf(r));
  return [...totals].sort((a, b) => b[1] - a[1]).slice(0, 12);
}

const SVG = 'http://www.w3.org/2000/svg';

function svg(tag: string, attributes: Record<string, string | number>, text?: string): SVGElement {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

/** One horizontal bar per entry; the label on the left, the figure after the bar. */
function bars(entries: [string, number][]): SVGElement {
  const rowHeight = 22;
  const labelWidth = 120;
  const barWidth = 200;
  const max = Math.max(1, ...entries.map(([, n]) => n));
  const chart = svg('svg', {
    class: 'bars',
    role: 'img',
    viewBox: `0 0 ${labelWidth + barWidth + 80} ${entries.length * rowHeight}`,
    width: '100%',
  });
  entries.forEach(([label, n], i) => {
    const y = i * rowHeight;
    const title = svg('title', {}, `${label}: ${n} tokens`);
    const group = svg('g', {});
    group.append(
      title,
      svg('text', { x: 0, y: y + 15 }, label.length > 18 ? `${label.slice(0, 17)}…` : label),
      svg('rect', {
        x: labelWidth,
        y: y + 4,
        height: rowHeight - 8,
        width: Math.max(1, (n / max) * barWidth),
      }),
      svg('text', { x: labelWidth + (n / max) * barWidth + 6, y: y + 15 }, n.toLocaleString()),
    );
    chart.append(group);
  });
  return chart;
}
