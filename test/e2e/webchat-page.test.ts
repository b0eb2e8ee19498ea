// The chat page as a person uses it: real Chromium, a real host, a real session container.
import { mkdtempSync, rmSync } from 'node:fs';
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
