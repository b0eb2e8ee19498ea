// Active sessions and their containers; a session can be stopped from here.
import { itemsOf } from '../api.ts';
import { ago, el, table } from '../elements.ts';
import type { Panel } from './panel.ts';

interface SessionRow {
  id: string;
  agentGroup: string;
  chat: string | null;
  threadId: string | null;
  status: string;
  containerStatus: string;
  lastActive: string | null;
  createdAt: string;
}

export const sessionsPanel: Panel = {
  id: 'sessions',
  title: 'Sessions and containers',
  topics: ['sessions'],
  wide: true,
  async load(ctx) {
    const rows = itemsOf<SessionRow>(await ctx.api('/sessions?limit=50'));
    const stop = (id: string) => async (event: Event) => {
      (event.target as HTMLButtonElement).disabled = true;
      await ctx.api(`/sessions/${encodeURIComponent(id)}/stop`, { method: 'POST', body: {} });
      ctx.changed('sessions');
    };
    return [
      table(
        ['Session', 'Group', 'Chat', 'Container', 'Last active', ''],
        rows.map((s) => [
          el('code', {}, s.id),
          s.agentGroup,
          s.chat === null
            ? el('span', { class: 'muted' }, '(agent-shared)')
            : s.chat + (s.threadId ? ` #${s.threadId}` : ''),
          el('span', { class: s.containerStatus === 'running' ? 'good' : 'muted' }, s.containerStatus),
          ago(s.lastActive ?? s.createdAt),
          s.status === 'active' ? el('button', { type: 'button', onclick: stop(s.id) }, 'Stop') : s.status,
        ]),
        'No active sessions.',
      ),
    ];
  },
};
