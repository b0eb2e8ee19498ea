// Messages that were not routed (and why), and senders whose messages are held until someone lets
// them in (pending new_sender approvals; decided in the inbox above).
import { itemsOf } from '../api.ts';
import { ago, el, table } from '../elements.ts';
import type { ApprovalView } from './approvals.ts';
import type { Panel } from './panel.ts';

interface DroppedRow {
  channelType: string;
  chatId: string;
  senderId: string;
  reason: string;
  count: number;
  lastAt: string;
}

interface HeldSender {
  senderName?: string | null;
  channelType: string;
  senderId: string;
  chatName?: string | null;
}

export const droppedPanel: Panel = {
  id: 'dropped',
  title: 'Dropped messages and held senders',
  topics: ['dropped', 'approvals'],
  async load({ api }) {
    const [dropped, pending] = await Promise.all([
      api('/dropped'),
      api('/approvals?status=pending&limit=200').then((a) => itemsOf<ApprovalView>(a)),
    ]);
    // `warren dropped --json` is {messages, closedSessions}; a paged route answers {items}.
    const messages = itemsOf<DroppedRow>(dropped).concat(
      itemsOf<DroppedRow>({ items: (dropped as { messages?: unknown }).messages }),
    );
    const held = pending.filter((a) => a.kind === 'new_sender');
    return [
      el('h3', {}, 'Held senders'),
      table(
        ['Sender', 'Chat', 'Since', 'Approval'],
        held.map((a) => {
          const p = a.payload as HeldSender;
          return [
            p.senderName ?? p.senderId,
            `${p.channelType}:${p.chatName ?? ''}`,
            ago(a.createdAt),
            el('code', {}, a.id),
          ];
        }),
        'No sender is waiting.',
      ),
      el('h3', {}, 'Dropped'),
      table(
        ['Last', 'Reason', 'Count', 'Chat', 'Sender'],
        messages.map((d) => [
          ago(d.lastAt),
          d.reason,
          String(d.count),
          `${d.channelType}:${d.chatId}`,
          d.senderId,
        ]),
        'Nothing was dropped.',
      ),
    ];
  },
};
