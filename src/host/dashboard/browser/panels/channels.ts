// Each channel's health as its liveness watchdog sees it.
import { ago, el, table } from '../elements.ts';
import type { Panel } from './panel.ts';

interface ChannelRow {
  type: string;
  connected: boolean;
  lastInboundAt: string | null;
  lastOutboundAt: string | null;
  lastError: string | null;
}

export const channelsPanel: Panel = {
  id: 'channels',
  title: 'Channels',
  topics: ['channels'],
  async load({ api }) {
    const { channels } = await api<{ channels: ChannelRow[] }>('/channels');
    return [
      table(
        ['Channel', 'State', 'Last in', 'Last out', 'Last error'],
        channels.map((c) => [
          c.type,
          el('span', { class: c.connected ? 'good' : 'bad' }, c.connected ? 'connected' : 'down'),
          ago(c.lastInboundAt),
          ago(c.lastOutboundAt),
          c.lastError ?? '',
        ]),
        'No channels.',
      ),
    ];
  },
};
