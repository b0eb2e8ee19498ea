// The latest replies sent to chats, and the failures among them with their error class.
import { itemsOf } from '../api.ts';
import { ago, el, table } from '../elements.ts';
import type { Panel } from './panel.ts';

interface DeliveryRow {
  sessionId: string | null;
  messageOutId: string;
  channelType: string;
  conversation: { chatId: string | null; threadId: string | null };
  status: string;
  errorCode: string | null;
  attempts: { attempt: number; error: string | null; startedAt: string }[];
}

const rowsOf = (items: DeliveryRow[]) =>
  items.map((d) => {
    const last = d.attempts.at(-1);
    return [
      ago(last?.startedAt),
      `${d.channelType}:${d.conversation.chatId ?? ''}`,
      el('span', { class: d.status === 'failed' ? 'bad' : d.status === 'delivered' ? 'good' : '' }, d.status),
      String(d.attempts.length),
      d.errorCode ? `${d.errorCode}: ${last?.error ?? ''}` : '',
    ];
  });

export const deliveriesPanel: Panel = {
  id: 'deliveries',
  title: 'Recent deliveries',
  topics: ['deliveries'],
  async load({ api }) {
    const [recent, failed] = await Promise.all([
      api('/deliveries?limit=15').then((a) => itemsOf<DeliveryRow>(a)),
      api('/deliveries?limit=10&status=failed').then((a) => itemsOf<DeliveryRow>(a)),
    ]);
    const head = ['When', 'Chat', 'Status', 'Tries', 'Error'];
    return [
      table(head, rowsOf(recent), 'Nothing sent yet.'),
      el('h3', {}, 'Failures'),
      table(head, rowsOf(failed), 'No failed deliveries.'),
    ];
  },
};
