// Agent groups, and which group answers in which chat: add a wiring (as `warren wire` does) or remove
// one. The form is built once, so a refresh never eats what someone is typing.
import { itemsOf } from '../api.ts';
import { ago, el, errorLine, table } from '../elements.ts';
import type { Panel, PanelContext } from './panel.ts';

interface GroupRow {
  folder: string;
  name: string;
  provider: string;
  model: string | null;
}

interface WiringRow {
  id: string;
  chat: string;
  chatName: string | null;
  agentGroup: string;
  engageMode: string;
  engagePattern: string | null;
  sessionMode: string;
  unknownSenders: string;
  createdAt: string;
}

export const groupsPanel: Panel = {
  id: 'groups',
  title: 'Agent groups',
  topics: ['groups'],
  async load({ api }) {
    const groups = itemsOf<GroupRow>(await api('/groups'));
    return [
      table(
        ['Group', 'Name', 'Provider', 'Model'],
        groups.map((g) => [g.folder, g.name, g.provider, g.model ?? '-']),
        'No agent groups.',
      ),
    ];
  },
};

export const wiringPanel: Panel = {
  id: 'wirings',
  title: 'Wiring',
  topics: ['wirings', 'groups'],
  wide: true,
  mount: wiringForm,
  async load(ctx) {
    const [wirings, groups] = await Promise.all([
      ctx.api('/wirings').then((a) => itemsOf<WiringRow>(a)),
      ctx.api('/groups').then((a) => itemsOf<GroupRow>(a)),
    ]);
    fillGroups(groups);
    const remove = (w: WiringRow) => async (event: Event) => {
      if (!confirm(`Stop ${w.agentGroup} answering in ${w.chat}?`)) return;
      (event.target as HTMLButtonElement).disabled = true;
      await ctx.api(`/wirings/${encodeURIComponent(w.id)}`, { method: 'DELETE' });
      ctx.changed('wirings');
    };
    return [
      table(
        ['Chat', 'Group', 'Engage', 'Sessions', 'Unknown senders', 'Since', ''],
        wirings.map((w) => [
          w.chatName ? `${w.chat} (${w.chatName})` : w.chat,
          w.agentGroup,
          w.engageMode === 'pattern' ? `pattern /${w.engagePattern ?? ''}/` : w.engageMode,
          w.sessionMode,
          w.unknownSenders,
          ago(w.createdAt),
          el('button', { type: 'button', onclick: remove(w) }, 'Remove'),
        ]),
        'No wirings.',
      ),
    ];
  },
};

const groupSelect = el('select', { name: 'group', required: true, 'aria-label': 'group' });

/** Keeps the choice the person made while the list of groups is read again. */
function fillGroups(groups: GroupRow[]): void {
  const chosen = groupSelect.value;
  groupSelect.replaceChildren(
    ...groups.map((g) => el('option', { value: g.folder }, `${g.folder} (${g.name})`)),
  );
  if (groups.some((g) => g.folder === chosen)) groupSelect.value = chosen;
}

function wiringForm(ctx: PanelContext): Node {
  const problem = el('div');
  const chat = el('input', {
    name: 'chat',
    required: true,
    placeholder: 'webchat:lobby',
    'aria-label': 'chat',
  });
  const choice = (name: string, values: string[]) =>
    el('select', { name, 'aria-label': name }, ...values.map((v) => el('option', { value: v }, v)));
  const engage = choice('engage', ['mention', 'mention-sticky', 'pattern']);
  const pattern = el('input', {
    name: 'pattern',
    placeholder: '^ (with engage pattern)',
    'aria-label': 'pattern',
  });
  const sessionMode = choice('sessionMode', ['shared', 'per-thread', 'agent-shared']);
  const unknownSenders = choice('unknownSenders', ['(chat default)', 'strict', 'request_approval', 'public']);
  const notes = el('div', { class: 'muted' });
  const form = el(
    'form',
    { class: 'inline', onsubmit: (event: Event) => void submit(event) },
    el('label', {}, 'Chat (CHANNEL:CHAT_ID)', chat),
    el('label', {}, 'Group', groupSelect),
    el('label', {}, 'Engage', engage),
    el('label', {}, 'Pattern', pattern),
    el('label', {}, 'Sessions', sessionMode),
    el('label', {}, 'Unknown senders', unknownSenders),
    el('button', { type: 'submit' }, 'Wire'),
  );
  return el('div', {}, form, problem, notes);

  async function submit(event: Event): Promise<void> {
    event.preventDefault();
    problem.replaceChildren();
    notes.replaceChildren();
    const body: Record<string, string> = {
      chat: chat.value.trim(),
      group: groupSelect.value,
      engage: engage.value,
      sessionMode: sessionMode.value,
    };
    if (engage.value === 'pattern') body.pattern = pattern.value;
    if (unknownSenders.selectedIndex > 0) body.unknownSenders = unknownSenders.value;
    try {
      const answer = await ctx.api<{ notes?: string[] }>('/wirings', { method: 'POST', body });
      notes.append(
        ...(answer.notes ?? []).map((n) => el('p', {}, n)),
        el('p', { class: 'good' }, `Wired ${body.chat}.`),
      );
      chat.value = '';
      ctx.changed('wirings');
    } catch (err) {
      problem.append(errorLine((err as Error).message));
    }
  }
}
