// The dashboard as an operator uses it: real Chromium, a real host, real session containers. Sign in
// (a token, a one-time link), watch a session appear while a chat talks, approve an agent's request
// with an edit and see its follow-up delivered, wire a new chat and see it answered. Screenshots of
// each step go to test-artifacts/dashboard/.
import { mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { User } from '../../src/db/users.ts';
import { createApiToken } from '../../src/db/tokens.ts';
import { runWarrenCli } from '../harness/warren-cli.ts';
import { deployApprovalRule, startWarren, waitUntil, type Warren } from '../harness/warren.ts';

const ARTIFACTS = join(process.cwd(), 'test-artifacts', 'dashboard');
let warren: Warren;
let browser: Browser;
let owner: User;
let token: string;

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  // Nothing is wired by itself: a chat is answered only once someone wires it.
  warren = await startWarren({
    autoWire: false,
    script: {
      rules: [
        deployApprovalRule('Deploy the site', 'v2', { reply: 'asked: {{tool_result}}' }),
        { match: '^approval_decided$', steps: [{ reply: 'decision: {{prompt}}' }] },
      ],
      default: [{ reply: 'you said: {{text}}' }],
    },
  });
  owner = warren.wire.owner({ account: 'olga', name: 'Olga', dm: 'olga-dm' });
  token = createApiToken(warren.wire.db, owner.id, 'dashboard e2e', new Date().toISOString()).token;
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'],
  });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await warren?.stop();
});

/** Saves a screenshot under test-artifacts/dashboard/ and checks the file is a PNG that is not empty. */
async function shot(page: Page, name: string): Promise<void> {
  const path = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  expect(statSync(path).size).toBeGreaterThan(1000);
}

/** A tab signed in with the API token, as an operator pastes it. */
async function signedIn(): Promise<Page> {
  const page = await browser.newPage();
  await page.goto(`${warren.url}/admin/`);
  await page.getByLabel('API token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('#live.on').waitFor({ timeout: 10_000 });
  return page;
}

test('an operator signs in with a token; a wrong token is refused and nothing is shown', async () => {
  const page = await browser.newPage();
  await page.goto(`${warren.url}/admin/`);
  await page.getByLabel('API token').fill('wrn_not-a-real-token');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByText('That token is unknown, revoked or expired.').waitFor();
  expect(await page.locator('#approvals').count()).toBe(0);

  await page.getByLabel('API token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('#live.on').waitFor({ timeout: 10_000 });
  await page.locator('#channels').getByText('webchat').waitFor();
  // The token stays in this tab's sessionStorage, never in the address or a cookie.
  expect(page.url()).toBe(`${warren.url}/admin/`);
  expect(await page.context().cookies()).toEqual([]);
  expect(await page.evaluate("sessionStorage.getItem('warren.dashboard.token')")).toBe(token);
  await shot(page, '01-signed-in');
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByLabel('API token').waitFor();
  expect(await page.evaluate('sessionStorage.length')).toBe(0);
  await page.close();
});

test('an operator signs in through a one-time link from `warren login-link --admin`; the link works once', async () => {
  const port = new URL(warren.url).port;
  const out = await runWarrenCli(['login-link', '--admin'], { dataDir: warren.dataDir, port });
  expect(out.code, out.stderr).toBe(0);
  const url = /^(http:\S+\/admin\/sign-in\/\S+)$/m.exec(out.stdout)![1]!;

  const page = await browser.newPage();
  await page.goto(url);
  // The code leaves the address bar before anything else happens.
  expect(page.url()).toBe(`${warren.url}/admin/`);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('#live.on').waitFor({ timeout: 10_000 });
  await shot(page, '02-signed-in-by-link');

  const again = await browser.newPage();
  await again.goto(url);
  await again.getByRole('button', { name: 'Sign in' }).click();
  await again.getByText(/already used, has expired/).waitFor();
  expect(await again.locator('#approvals').count()).toBe(0);
  await shot(again, '03-link-used-twice');

  // Signing out ends the token the link gave: a copy of it is refused from then on.
  const minted = (await page.evaluate("sessionStorage.getItem('warren.dashboard.token')")) as string;
  const withMinted = () =>
    fetch(`${warren.url}/api/groups`, { headers: { authorization: `Bearer ${minted}` } }).then(
      (r) => r.status,
    );
  expect(await withMinted()).toBe(200);
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByLabel('API token').waitFor();
  await waitUntil(
    async () => (await withMinted()) === 401,
    5000,
    () => 'the minted token still works',
  );
  await Promise.all([page.close(), again.close()]);
});

test('a web chat message makes a session that appears on the open dashboard without a reload', async () => {
  warren.wire.wiring('live-room', warren.wire.main(), { engageMode: 'pattern', engagePattern: '^' });
  const page = await signedIn();
  const sessions = page.locator('#sessions');
  await sessions
    .getByText(/No active sessions|webchat/)
    .first()
    .waitFor();
  expect(await sessions.getByText('webchat:live-room').count()).toBe(0);

  const chat = await warren.chat('live-room');
  await chat.send({ id: 'l1', text: 'hello dashboard' });
  await sessions.getByText('webchat:live-room').waitFor({ timeout: 15_000 });
  await chat.waitForReply((r) => r.text === 'you said: hello dashboard', 30_000);
  // The reply's delivery shows up too, still without a reload.
  await page.locator('#deliveries').getByText('webchat:live-room').first().waitFor({ timeout: 10_000 });
  await shot(page, '04-session-appeared');
  await page.close();
}, 90_000);

test('an approval is approved with an edit on the dashboard and the agent’s follow-up uses the edit', async () => {
  warren.wire.wiring('desk', warren.wire.main(), { engageMode: 'pattern', engagePattern: '^' });
  const page = await signedIn();
  const desk = await warren.chat('desk');
  await desk.send({ id: 'd1', text: 'please deploy' });

  // The whole payload is on the card, live.
  const card = page.locator('#approvals [data-approval]');
  await card.waitFor({ timeout: 30_000 });
  expect(await card.locator('pre.payload').textContent()).toContain('"version": "v2"');
  await shot(page, '05-approval-pending');

  await card.getByRole('button', { name: 'Edit and approve…' }).click();
  const editor = card.getByLabel('edited payload');
  await editor.fill((await editor.inputValue()).replace('"v2"', '"v3"'));
  await shot(page, '06-approval-edited');
  await card.getByRole('button', { name: 'Approve with edits' }).click();
  await page.locator('#approvals').getByText('Nothing waits for a decision.').waitFor({ timeout: 10_000 });

  const outcome = await desk.waitForReply((r) => r.text.startsWith('decision:'), 30_000);
  expect(outcome.text).toContain('approved: true');
  expect(outcome.text).toContain('"version":"v3"');
  expect(outcome.text).not.toContain('"version":"v2"');
  await shot(page, '07-approval-decided');
  await page.close();
}, 120_000);

test('a chat nobody wired is held; wired in the wiring editor, its next message is answered', async () => {
  const page = await signedIn();
  const lobby = await warren.chat('new-room');
  await lobby.send({ id: 'n1', text: 'anyone there?' });
  // Unwired, the message waits for someone to approve the new chat.
  const held = page.locator('#dropped tr', { hasText: 'webchat:new-room' });
  await held.waitFor({ timeout: 15_000 });
  expect(await held.textContent()).toContain('new_channel');

  const editor = page.locator('#wirings');
  await editor.getByLabel('chat').fill('webchat:new-room');
  await editor.getByLabel('group').selectOption('main');
  await editor.getByLabel('engage').selectOption('pattern');
  await editor.getByLabel('pattern').fill('^');
  // The chat was made when its first message came, strict towards senders nobody knows; it is public.
  await editor.getByLabel('unknownSenders').selectOption('public');
  await editor.getByRole('button', { name: 'Wire' }).click();
  await editor.getByText('Wired webchat:new-room.').waitFor({ timeout: 10_000 });
  await editor.locator('td', { hasText: 'webchat:new-room' }).first().waitFor();
  await shot(page, '08-wired');

  await lobby.send({ id: 'n2', text: 'now?' });
  const reply = await lobby.waitForReply((r) => r.inReplyTo === 'n2', 30_000);
  expect(reply.text).toBe('you said: now?');

  // Removed again (after a confirmation), the wiring leaves the list.
  page.once('dialog', (dialog) => void dialog.accept());
  await editor.locator('tr', { hasText: 'webchat:new-room' }).getByRole('button', { name: 'Remove' }).click();
  await editor.locator('td', { hasText: 'webchat:new-room' }).waitFor({ state: 'detached', timeout: 10_000 });
  expect(
    warren
      .db()
      .prepare(
        "SELECT count(*) FROM wirings w JOIN messaging_groups m ON m.id = w.messaging_group_id WHERE m.platform_id = 'new-room'",
      )
      .pluck()
      .get(),
  ).toBe(0);
  await page.close();
}, 90_000);

test('on a phone the panels stack in one column, and usage is drawn as a chart', async () => {
  // A model call as the gateway records it (the scripted agent of these tests calls no model).
  warren.wire.db
    .prepare(
      `INSERT INTO model_usage (agent_group_id, session_id, user_id, provider, model, path, input_tokens,
         output_tokens, status_code, duration_ms, created_at)
       VALUES (?, 'ses_x', ?, 'claude', 'claude-sonnet', '/v1/messages', 1200, 300, 200, 900, ?)`,
    )
    .run(warren.wire.main().id, owner.id, new Date().toISOString());
  const page = await browser.newPage({ viewport: { width: 390, height: 844 }, isMobile: true });
  await page.goto(`${warren.url}/admin/`);
  await page.getByLabel('API token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('#live.on').waitFor({ timeout: 10_000 });
  const [a, b] = await Promise.all([
    page.locator('#channels').boundingBox(),
    page.locator('#deliveries').boundingBox(),
  ]);
  expect(a!.x).toBe(b!.x);
  expect(a!.width).toBeLessThanOrEqual(390);
  await page.locator('#usage svg.bars rect').first().waitFor({ timeout: 10_000 });
  expect(await page.locator('#usage svg.bars').first().textContent()).toContain('main');
  await shot(page, '09-phone');
  await page.close();
});
