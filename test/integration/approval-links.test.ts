// Approval links end to end over real HTTP: a card shown without buttons carries a signed link under
// each option; the page a link opens decides nothing on GET, decides once on POST as the approver the
// card was sent to, and refuses a used, expired, edited or forged link.
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { getApproval, type Approval } from '../../src/db/approvals.ts';
import { approvalLinkPage } from '../../src/host/approvals/index.ts';
import { startHttpServer, type RunningHttpServer } from '../../src/host/http.ts';
import { createWorld, type World } from '../harness/approvals.ts';

const KEY = 'link-key-for-tests-0123456789abcdefghijkl';
let w: World;
let http: RunningHttpServer;

beforeAll(async () => {
  w = createWorld({ links: { key: KEY, publicUrl: () => 'https://warren.example' } });
  http = await startHttpServer({
    port: 0,
    host: '127.0.0.1',
    mounts: [
      {
        path: '/approve',
        app: approvalLinkPage({
          db: w.db,
          clock: w.now,
          key: KEY,
          submitDecision: (input) => w.engine.submitDecision(input),
        }),
      },
    ],
    log: pino({ level: 'silent' }),
  });
});

afterAll(async () => {
  await http.close();
  w.close();
});

async function ask(action: string): Promise<Approval> {
  const outcome = await w.engine.request({
    kind: 'agent_action',
    agentGroupId: w.main.id,
    requestedBy: `agent:${w.main.id}`,
    payload: { action, summary: `please ${action}`, payload: {} },
    ttlMs: 3_600_000,
  });
  if (!outcome.ok) throw new Error(outcome.error);
  return outcome.approval;
}

/** The links in the owner's card (the `text` channel has no buttons): option label → local URL. */
function linksInCard(approval: Approval): Record<string, string> {
  const card = w.text.sent.find(
    (m) => m.kind === 'send' && m.chatId === w.owner.dm && m.text.includes(approval.id),
  );
  if (card?.kind !== 'send') throw new Error('no card in the owner’s DM');
  const links: Record<string, string> = {};
  for (const [, label, url] of card.text.matchAll(
    /^\d+\. (\w+): (https:\/\/warren\.example\/approve\/\S+)$/gm,
  ))
    links[label!] = url!.replace('https://warren.example', http.url);
  return links;
}

const open = (url: string, method = 'GET') => fetch(url, { method, redirect: 'manual' });

describe('links on cards', () => {
  test('a card without buttons has a link under each option; a card with buttons has none', async () => {
    const approval = await ask('links-shown');
    expect(Object.keys(linksInCard(approval))).toEqual(['Approve', 'Reject']);
    const rich = w.rich.sent.find((m) => m.kind === 'send' && m.card?.body.includes(approval.id));
    expect(rich?.kind === 'send' && rich.card?.options.every((o) => !('url' in o))).toBe(true);
    expect(JSON.stringify(rich)).not.toContain('/approve/');
  });
});

describe('the page', () => {
  test('a GET shows what would be decided and decides nothing', async () => {
    const approval = await ask('look-only');
    const res = await open(linksInCard(approval).Approve!);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    const page = await res.text();
    expect(page).toContain('Nothing has been decided yet');
    expect(page).toContain('<form method="post">');
    expect(getApproval(w.db, approval.id)?.status).toBe('pending');
  });

  test('the POST decides as the approver the card went to; the same link is refused the second time', async () => {
    const approval = await ask('deploy');
    const { Approve, Reject } = linksInCard(approval);
    const first = await open(Approve!, 'POST');
    expect(first.status).toBe(200);
    expect(await first.text()).toContain('Approved');
    expect(getApproval(w.db, approval.id)).toMatchObject({ status: 'approved', decidedBy: w.owner.user.id });
    for (const [url, method] of [
      [Approve!, 'POST'],
      [Approve!, 'GET'],
      [Reject!, 'POST'],
    ] as const) {
      const again = await open(url, method);
      expect(again.status).toBe(409);
      expect(await again.text()).toContain('already decided');
    }
    expect(getApproval(w.db, approval.id)?.status).toBe('approved');
  });

  test('after the approval expires, its links are refused', async () => {
    const approval = await ask('too-late');
    const { Reject } = linksInCard(approval);
    w.advance(3_600_001);
    for (const method of ['GET', 'POST']) {
      const res = await open(Reject!, method);
      expect(res.status).toBe(410);
      expect(await res.text()).toContain('expired');
    }
    expect(getApproval(w.db, approval.id)?.decidedBy ?? null).not.toBe(w.owner.user.id);
  });

  test('an edited or forged link is refused and decides nothing', async () => {
    const approval = await ask('forge-me');
    const { Reject } = linksInCard(approval);
    const [body, signature] = Reject!.split('/approve/')[1]!.split('.');
    const fields = JSON.parse(Buffer.from(body!, 'base64url').toString()) as string[];
    fields[1] = 'approve';
    const edited = `${Buffer.from(JSON.stringify(fields)).toString('base64url')}.${signature}`;
    for (const token of [edited, `${body}.${'A'.repeat(43)}`, 'nonsense', `${body}`]) {
      for (const method of ['GET', 'POST']) {
        const res = await open(`${http.url}/approve/${token}`, method);
        expect(res.status).toBe(400);
        expect(await res.text()).toContain('not valid');
      }
    }
    expect(getApproval(w.db, approval.id)?.status).toBe('pending');
  });
});
