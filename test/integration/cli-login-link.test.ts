// `warren login-link USER` and the install secret as an operator meets them: the real command, a
// real data folder.
import { chmodSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, expect, test } from 'vitest';
import { runWarrenCli } from '../harness/warren-cli.ts';
import { listAuditEvents } from '../../src/db/audit.ts';
import { openCentralDb } from '../../src/db/connection.ts';
import { userForAccount } from '../../src/host/access/index.ts';

let dataDir: string;
let ana: string;

const warren = (args: string[]) => runWarrenCli(args, { dataDir, port: '7999' });

beforeAll(async () => {
  const root = mkdtempSync(join(tmpdir(), 'warren-cli-login-'));
  dataDir = join(root, 'data');
  const init = await warren(['init', '--groups-dir', join(root, 'groups')]);
  expect(init.code).toBe(0);
  expect(init.stdout).toContain('cli-secret');
  const db = openCentralDb(join(dataDir, 'warren.db'));
  ana = userForAccount(db, { kind: 'webchat', externalId: 'ana', name: 'Ana' }, new Date().toISOString()).id;
  db.close();
});

test('warren init makes the install secret readable by its owner only', () => {
  const path = join(dataDir, 'cli-secret');
  expect(statSync(path).mode & 0o777).toBe(0o600);
  expect(readFileSync(path, 'utf8').trim()).toMatch(/^[A-Za-z0-9_-]{43}$/);
});

test('login-link prints a one-time link for the user; only its hash is stored, and it is audited', async () => {
  const out = await warren(['login-link', 'webchat:ana', '--minutes', '5']);
  expect(out.code).toBe(0);
  const url = /^(http:\/\/127\.0\.0\.1:7999\/webchat\/sign-in\?code=([A-Za-z0-9_-]{43}))$/m.exec(out.stdout);
  expect(url, out.stdout).not.toBeNull();
  expect(out.stdout).toMatch(/works once/);
  const db = openCentralDb(join(dataDir, 'warren.db'));
  const rows = db.prepare('SELECT * FROM login_links').all() as Record<string, string>[];
  expect(rows).toHaveLength(1);
  expect(JSON.stringify(rows)).not.toContain(url![2]!);
  const ttl = Date.parse(rows[0]!.expires_at!) - Date.parse(rows[0]!.created_at!);
  expect(ttl).toBe(5 * 60_000);
  expect(listAuditEvents(db, { target: { kind: 'user', id: ana } }).map((e) => e.action)).toContain(
    'login_link.created',
  );
  db.close();
});

test('login-link refuses more than 15 minutes and an unknown user', async () => {
  expect((await warren(['login-link', ana, '--minutes', '16'])).stderr).toMatch(/from 1 to 15/);
  expect((await warren(['login-link', 'webchat:nobody'])).stderr).toMatch(/no user webchat:nobody/);
  expect((await warren(['login-link'])).code).toBe(2);
});

test('warren chat refuses an install secret others can read', async () => {
  const path = join(dataDir, 'cli-secret');
  chmodSync(path, 0o644);
  try {
    const out = await warren(['chat']);
    expect(out.code).toBe(1);
    expect(out.stderr).toMatch(/can be read by other accounts.*chmod 600/);
  } finally {
    chmodSync(path, 0o600);
  }
});

test('login-link --admin prints a one-time dashboard link, for owners and admins only', async () => {
  const none = await warren(['login-link', '--admin']);
  expect(none.code).toBe(2);
  expect(none.stderr).toMatch(/there is no owner; name the user/);
  const notAdmin = await warren(['login-link', '--admin', 'webchat:ana']);
  expect(notAdmin.code).toBe(2);
  expect(notAdmin.stderr).toMatch(/neither an owner nor an admin/);

  expect((await warren(['roles', 'grant', 'webchat:ana', 'owner'])).code).toBe(0);
  const out = await warren(['login-link', '--admin']);
  expect(out.code, out.stderr).toBe(0);
  expect(out.stdout).toMatch(/^http:\/\/127\.0\.0\.1:7999\/admin\/sign-in\/dash\.[A-Za-z0-9_-]{43}$/m);
  expect(out.stdout).toMatch(/signs one dashboard tab in as Ana/);
});
