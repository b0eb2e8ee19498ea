// The chat page as a person uses it: real Chromium, a real host, a real session container.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { pino } from 'pino';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { loadConfig } from '../../src/host/config.ts';
import { startHost, type RunningHost } from '../../src/host/index.ts';

const root = mkdtempSync(join(tmpdir(), 'warren-page-'));
let host: RunningHost;
let browser: Browser;

beforeAll(async () => {
  const config = loadConfig({
    flags: { dataDir: join(root, 'data'), groupsDir: join(root, 'groups') },
    env: {},
    cwd: root,
  });
  host = await startHost(
    { ...config, port: 0, containers: { ...config.containers, idleExitMs: 5000 } },
    {
      log: pino({ level: 'warn' }),
    },
  );
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'],
  });
});

afterAll(async () => {
  await browser?.close();
  await host?.stop();
  rmSync(root, { recursive: true, force: true });
});

test('a person opens the chat page, types a message and sees the reply', async () => {
  const page = await browser.newPage();
  await page.goto(`${host.url}/webchat/?chat=first-visit`);
  await page.getByPlaceholder(/Message/).fill('Hello from the browser');
  await page.keyboard.press('Enter');
  const reply = page.getByText('echo: Hello from the browser');
  await reply.waitFor({ state: 'visible', timeout: 15_000 });
  expect(await reply.count()).toBe(1);
  // A reload shows the conversation again from the replay buffer, once.
  await page.reload();
  await reply.waitFor({ state: 'visible', timeout: 5_000 });
  expect(await reply.count()).toBe(1);
});

test('a person attaches a file on the page; the agent reads it and answers', async () => {
  writeFileSync(
    join(root, 'groups', 'main', 'script.json'),
    JSON.stringify({
      rules: [{ match: '^what does it say', steps: [{ reply: 'it says: {{attachment_text}}' }] }],
    }),
  );
  const page = await browser.newPage();
  await page.goto(`${host.url}/webchat/?chat=upload`);
  await page.locator('#files').setInputFiles({
    name: 'shopping.txt',
    mimeType: 'text/plain',
    buffer: Buffer.from('eggs, flour, milk'),
  });
  await page.getByText('📎 shopping.txt').first().waitFor({ state: 'visible' });
  await page.getByPlaceholder(/Message/).fill('what does it say?');
  await page.keyboard.press('Enter');
  const reply = page.getByText('it says: eggs, flour, milk');
  await reply.waitFor({ state: 'visible', timeout: 15_000 });
  expect(await reply.count()).toBe(1);
  // The picker is emptied once sent; the sent bubble names the file.
  expect(await page.locator('#picked').textContent()).toBe('');
  expect(await page.locator('.msg.mine .meta').allTextContents()).toEqual(['📎 shopping.txt']);
});
