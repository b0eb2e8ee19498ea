// The approvals inbox: every pending approval with its whole payload (lessons: cards that hid fields
// got approved blind), and approve, approve with edits (the payload as editable JSON) or reject. The
// payload's hash goes back with the decision, so an approval changed meanwhile is not decided blind.
import { itemsOf } from '../api.ts';
import { ago, el, errorLine } from '../elements.ts';
import type { Panel, PanelContext } from './panel.ts';

export interface ApprovalView {
  id: string;
  kind: string;
  status: string;
  agentGroupId: string | null;
  requestedBy: string;
  payload: unknown;
  payloadHash: string;
  renderedEffect: string;
  expiresAt: string;
  createdAt: string;
}

/** Only these kinds take an edited payload (the host's kind handlers say so). */
const EDITABLE = new Set(['agent_action']);

export const approvalsPanel: Panel = {
  id: 'approvals',
  title: 'Approvals inbox',
  topics: ['approvals'],
  wide: true,
  async load(ctx) {
    const pending = itemsOf<ApprovalView>(await ctx.api('/approvals?status=pending&limit=50'));
    if (pending.length === 0) return [el('p', { class: 'muted' }, 'Nothing waits for a decision.')];
    return pending.map((a) => card(ctx, a));
  },
};

function card(ctx: PanelContext, a: ApprovalView): Node {
  const problem = el('div');
  const note = el('input', { type: 'text', placeholder: 'note (optional)', 'aria-label': 'note' });
  const editor = el('textarea', { 'aria-label': 'edited payload', spellcheck: 'false' });
  editor.value = JSON.stringify(a.payload, null, 2);
  const editing = el(
    'div',
    { hidden: true, class: 'edit' },
    editor,
    el('button', { type: 'button', onclick: () => void decide('approve', true) }, 'Approve with edits'),
    el('button', { type: 'button', onclick: () => close() }, 'Cancel'),
  );
  const root = el(
    'div',
    { class: 'card', 'data-approval': a.id },
    el('strong', {}, a.kind),
    ' ',
    el('code', {}, a.id),
    el('p', {}, a.renderedEffect),
    el('div', { class: 'muted' }, `asked by ${a.requestedBy}, `, ago(a.createdAt), ', expires ', a.expiresAt),
    el('pre', { class: 'payload' }, JSON.stringify(a.payload, null, 2)),
    note,
    el(
      'div',
      {},
      el('button', { type: 'button', onclick: () => void decide('approve', false) }, 'Approve'),
      EDITABLE.has(a.kind) && el('button', { type: 'button', onclick: () => open() }, 'Edit and approve…'),
      el('button', { type: 'button', onclick: () => void decide('reject', false) }, 'Reject'),
    ),
    editing,
    problem,
  );
  return root;

  // While the editor is open the panel is not redrawn under the person's hands (main.ts).
  function open(): void {
    editing.hidden = false;
    root.classList.add('editing');
    editor.focus();
  }
  function close(): void {
    editing.hidden = true;
    root.classList.remove('editing');
    ctx.changed('approvals');
  }

  async function decide(decision: 'approve' | 'reject', edited: boolean): Promise<void> {
    problem.replaceChildren();
    const body: Record<string, unknown> = { decision, payloadHash: a.payloadHash };
    if (note.value.trim()) body.note = note.value.trim();
    if (edited) {
      try {
        body.editedPayload = JSON.parse(editor.value);
      } catch (err) {
        problem.append(errorLine(`The edited payload is not JSON: ${(err as Error).message}`));
        return;
      }
    }
    try {
      await ctx.api(`/approvals/${encodeURIComponent(a.id)}/decision`, { method: 'POST', body });
      root.classList.remove('editing');
      ctx.changed('approvals');
    } catch (err) {
      problem.append(errorLine((err as Error).message));
    }
  }
}
