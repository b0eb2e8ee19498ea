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

/** The fields of a new_sender or new_channel payload that say who and where. */
interface HeldFor {
  senderName?: string | null;
  senderId?: string;
  requestedByName?: string | null;
  channelType?: string;
  platformId?: string;
  chatName?: string | null;
}

/** GET /api/dropped: dropped rows, and the messages held per pending approval. */
interface DroppedAnswer {
  items: DroppedRow[];
  held: { approvalId: string; messages: number; since: string }[];
}

export const droppedPanel: Panel = {
  id: 'dropped',
  title: 'Dropped messages and held senders',
  topics: ['dropped', 'approvals'],
  async load({ api }) {
    const [dropped, pending] = await Promise.all([
      api<DroppedAnswer>('/dropped'),
      api('/approvals?status=pending&limit=200').then((a) => itemsOf<ApprovalView>(a)),
    ]);
    const approvals = new Map(pending.map((a) => [a.id, a]));
    return [
      el('h3', {}, 'Held senders'),
      table(
        ['Sender', 'Chat', 'Messages', 'Since', 'Waiting for'],
        dropped.held.map((h) => {
          const a = approvals.get(h.approvalId);
          const p = (a?.payload ?? {}) as HeldFor;
          return [
            p.senderName ?? p.requestedByName ?? p.senderId ?? '?',
            `${p.channelType ?? '?'}:${p.platformId ?? p.chatName ?? ''}`,
            String(h.messages),
            ago(h.since),
            el('span', {}, a?.kind ?? 'approval', ' ', el('code', {}, h.approvalId)),
          ];
        }),
        'No messages are held.',
      ),
      el('h3', {}, 'Dropped'),
      table(
        ['Last', 'Reason', 'Count', 'Chat', 'Sender'],
        dropped.items.map((d) => [
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
