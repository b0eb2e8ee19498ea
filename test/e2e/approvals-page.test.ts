// An approval card in the chat page, in real Chromium: its buttons post the click as an action, and
// once decided the card shows the outcome and loses its buttons.
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { getApproval } from '../../src/db/approvals.ts';
import type { User } from '../../src/db/users.ts';
import { makeLoginLink } from '../../src/host/access/index.ts';
import { deployApprovalRule, startWarren, waitUntil, type Warren } from '../harness/warren.ts';

let warren: Warren;
let browser: Browser;
let olga: User;

beforeAll(async () => {
  warren = await startWarren({
    script: { rules: [deployApprovalRule('Deploy', 'v3')] },
  });
  olga = warren.wire.owner({ account: 'olga', name: 'Olga', dm: 'olga-dm' });
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'],
  });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await warren?.stop();
});

test('the owner clicks Approve on the card in the chat page; the card then shows who approved it', async () => {
  const page = await browser.newPage();
  // Olga signs this browser in with a one-time link (warren login-link olga): open it, confirm.
  const link = makeLoginLink(warren.wire.db, {
    user: olga,
    actor: 'e2e',
    now: new Date(),
    baseUrl: warren.url,
  });
  await page.goto(link.url);
  await page.getByRole('button', { name: 'Sign in as Olga' }).click();
  await page.waitForURL((url) => url.pathname === '/webchat/');
  await page.goto(`${warren.url}/webchat/?chat=olga-dm`);
  const desk = await warren.chat('desk');
  await desk.send({ id: 'p1', text: 'please deploy' });
  const approve = page.getByRole('button', { name: 'Approve' });
  await approve.waitFor({ state: 'visible', timeout: 30_000 });
  expect(await page.getByText('version: "v3"').count()).toBe(1); // the payload, on the card
  await approve.click();
  await page.getByText(/approved by Olga/).waitFor({ state: 'visible', timeout: 15_000 });
  expect(await page.getByRole('button', { name: 'Approve' }).count()).toBe(0);
  const status = await waitUntil(
    () => {
      const row = warren.db().prepare('SELECT id FROM approvals').pluck().get() as string | undefined;
      return row && getApproval(warren.db(), row)!.status;
    },
    5000,
    () => 'no approval',
  );
  expect(status).toBe('approved');
}, 90_000);
