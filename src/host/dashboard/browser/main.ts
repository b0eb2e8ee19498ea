// The dashboard page: signs in (a pasted API token, or a one-time link's code exchanged once for a
// short-lived token), then draws each panel and reads it again when the event stream says its part
// changed. The token lives in this tab's sessionStorage only.
import { ApiError, createApi, session } from './api.ts';
import { el, errorLine } from './elements.ts';
import { startLive } from './live.ts';
import { approvalsPanel } from './panels/approvals.ts';
import { channelsPanel } from './panels/channels.ts';
import { deliveriesPanel } from './panels/deliveries.ts';
import { droppedPanel } from './panels/dropped.ts';
import type { Panel, PanelContext } from './panels/panel.ts';
import { sessionsPanel } from './panels/sessions.ts';
import { statusPanel } from './panels/status.ts';
import { usagePanel } from './panels/usage.ts';
import { groupsPanel, wiringPanel } from './panels/wiring.ts';

const PANELS: Panel[] = [
  statusPanel,
  approvalsPanel,
  sessionsPanel,
  channelsPanel,
  deliveriesPanel,
  droppedPanel,
  groupsPanel,
  wiringPanel,
  usagePanel,
];

const main = document.getElementById('main')!;
const live = document.getElementById('live')!;
const signOutButton = document.getElementById('sign-out') as HTMLButtonElement;
let stopLive: (() => void) | undefined;

const linkCode = /^\/admin\/sign-in\/([^/]+)$/.exec(location.pathname)?.[1];
if (linkCode) showLinkSignIn(decodeURIComponent(linkCode));
else if (session.token()) startDashboard();
else showTokenSignIn();

function signOut(message?: string): void {
  stopLive?.();
  stopLive = undefined;
  session.clear();
  signOutButton.hidden = true;
  setLive(false, 'signed out');
  showTokenSignIn(message);
}
// A token this tab got from a one-time link ends with the tab's sign-in, so a copy left anywhere stops
// working too. A pasted token is the operator's own (`warren tokens create`) and is left alone.
signOutButton.addEventListener('click', () => {
  const token = session.token();
  if (token && session.minted())
    void fetch('/api/tokens/current', { method: 'DELETE', headers: { authorization: `Bearer ${token}` } });
  signOut();
});

function showTokenSignIn(message?: string): void {
  const token = el('input', {
    type: 'password',
    name: 'token',
    autocomplete: 'off',
    placeholder: 'wrn_…',
    'aria-label': 'API token',
  });
  const problem = el('div', {}, message && errorLine(message));
  const form = el(
    'form',
    { onsubmit: (event: Event) => void submit(event) },
    el(
      'p',
      {},
      'Paste an API token (',
      el('code', {}, 'warren tokens create NAME'),
      '), or open a link from ',
      el('code', {}, 'warren login-link --admin'),
      '.',
    ),
    token,
    el('button', { type: 'submit' }, 'Sign in'),
  );
  main.replaceChildren(el('section', { class: 'sign-in' }, el('h2', {}, 'Sign in'), form, problem));
  token.focus();

  async function submit(event: Event): Promise<void> {
    event.preventDefault();
    session.save(token.value.trim());
    // Any route tells whether the token is good; 401 means it is not.
    const check = await fetch('/api/approvals?limit=1', {
      headers: { authorization: `Bearer ${session.token() ?? ''}` },
      cache: 'no-store',
    });
    if (check.status === 401) {
      session.clear();
      problem.replaceChildren(errorLine('That token is unknown, revoked or expired.'));
      return;
    }
    startDashboard();
  }
}

function showLinkSignIn(code: string): void {
  // The code leaves the address bar (and history) at once; it works only once anyway.
  history.replaceState(null, '', '/admin/');
  const problem = el('div');
  const button = el('button', { type: 'button', onclick: () => void exchange() }, 'Sign in');
  main.replaceChildren(
    el(
      'section',
      { class: 'sign-in' },
      el('h2', {}, 'Sign in with a one-time link'),
      el('p', {}, 'This link signs this browser tab in to the dashboard. It works once.'),
      button,
      problem,
    ),
  );

  async function exchange(): Promise<void> {
    button.disabled = true;
    const response = await fetch('/admin/sign-in', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ code }),
      cache: 'no-store',
    });
    const answer = (await response.json().catch(() => ({}))) as { token?: string; error?: string };
    if (!response.ok || !answer.token) {
      problem.replaceChildren(errorLine(answer.error ?? `sign-in failed (HTTP ${response.status})`));
      return;
    }
    session.save(answer.token, true);
    startDashboard();
  }
}

function setLive(on: boolean, text: string): void {
  live.textContent = text;
  live.className = `live ${on ? 'on' : 'off'}`;
}

function startDashboard(): void {
  signOutButton.hidden = false;
  const api = createApi(() => signOut('Your sign-in ended (the token expired or was revoked).'));
  const sections = new Map<
    Panel,
    { body: HTMLElement; stale: boolean; loading: Promise<void> | undefined }
  >();
  const ctx: PanelContext = { api, changed: (topic) => refreshTopic(topic) };
  main.replaceChildren();
  for (const panel of PANELS) {
    const body = el('div', { class: 'body' });
    main.append(
      el(
        'section',
        { id: panel.id, class: panel.wide ? 'wide' : undefined },
        el('h2', {}, panel.title),
        panel.mount?.(ctx),
        body,
      ),
    );
    sections.set(panel, { body, stale: false, loading: undefined });
  }
  for (const panel of PANELS) void refresh(panel);
  let reconnecting = false;
  stopLive = startLive({
    onOpen() {
      setLive(true, 'live');
      // Whatever changed while the stream was away.
      if (reconnecting) for (const panel of PANELS) void refresh(panel);
    },
    onTopic: refreshTopic,
    onClosed: () => {
      reconnecting = true;
      setLive(false, 'reconnecting…');
    },
    onSignedOut: () => signOut('Your sign-in ended (the token expired or was revoked).'),
  });

  function refreshTopic(topic: string): void {
    for (const panel of PANELS) if (panel.topics.includes(topic)) void refresh(panel);
  }

  /** Reads a panel again; one read at a time per panel, and another after it when asked meanwhile. */
  async function refresh(panel: Panel): Promise<void> {
    const state = sections.get(panel)!;
    if (state.loading) {
      state.stale = true;
      return;
    }
    // Someone is editing in this panel: it is read again when they are done.
    if (state.body.querySelector('.editing')) return;
    state.stale = false;
    state.loading = panel
      .load(ctx)
      .then((nodes) => state.body.replaceChildren(...nodes))
      .catch((err: unknown) => {
        if (err instanceof ApiError && err.status === 401) return;
        state.body.replaceChildren(errorLine(err instanceof Error ? err.message : String(err)));
      })
      .finally(() => {
        state.loading = undefined;
        if (state.stale) void refresh(panel);
      });
  }
}
