// The `warren status` document at a glance: containers and queue depth, pending approvals, held
// messages, failed deliveries, and every problem with what to do about it.
import { el } from '../elements.ts';
import type { Panel } from './panel.ts';

interface StatusReport {
  containers: { running: number; queued: number } | null;
  approvals: { pending: number };
  heldMessages: number;
  deliveries: { failedLastDay: number };
  problems: string[];
}

export const statusPanel: Panel = {
  id: 'status',
  title: 'Status',
  topics: ['sessions', 'approvals', 'deliveries', 'channels', 'dropped'],
  wide: true,
  async load({ api }) {
    const s = await api<StatusReport>('/status');
    const figure = (label: string, value: number | string, id: string) =>
      el('div', { 'data-figure': id }, el('strong', {}, String(value)), label);
    return [
      el(
        'div',
        { class: 'figures' },
        figure('containers running', s.containers?.running ?? '-', 'running'),
        figure('sessions queued', s.containers?.queued ?? '-', 'queued'),
        figure('approvals pending', s.approvals.pending, 'pending'),
        figure('messages held', s.heldMessages, 'held'),
        figure('failed sends (24 h)', s.deliveries.failedLastDay, 'failed'),
      ),
      s.problems.length === 0
        ? el('p', { class: 'good' }, 'No problems.')
        : el('ul', { class: 'bad' }, ...s.problems.map((p) => el('li', {}, p))),
    ];
  },
};
