// `warren users …` and `warren roles …` as an operator runs them: the real command, a real data folder.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, expect, test } from 'vitest';
import { runWarrenCli } from '../harness/warren-cli.ts';
import { listAuditEvents } from '../../src/db/audit.ts';
import { openCentralDb } from '../../src/db/connection.ts';
import { getUser, listIdentityEvents } from '../../src/db/users.ts';
import { userForAccount } from '../../src/host/access/index.ts';

let dataDir: string;
let ana: string;
let bo: string;

const warren = (args: string[]) => runWarrenCli(args, { dataDir });

beforeAll(async () => {
  const root = mkdtempSync(join(tmpdir(), 'warren-cli-users-'));
  dataDir = join(root, 'data');
  expect((await warren(['init', '--groups-dir', join(root, 'groups')])).code).toBe(0);
  const db = openCentralDb(join(dataDir, 'warren.db'));
  ana = userForAccount(db, { kind: 'webchat', externalId: 'ana', name: 'Ana' }, new Date().toISOString()).id;
  bo = userForAccount(db, { kind: 'telegram', externalId: '42', name: 'Bo' }, new Date().toISOString()).id;
  db.close();
});

const db = () => openCentralDb(join(dataDir, 'warren.db'));

test('roles grant, list and revoke, each change audited with the operator as actor', async () => {
  expect((await warren(['roles', 'grant', 'webchat:ana', 'owner'])).stdout).toMatch(`${ana} is now owner`);
  expect((await warren(['roles', 'grant', ana, 'member', '--group', 'main'])).code).toBe(0);
  expect((await warren(['roles', 'grant', ana, 'member'])).stderr).toMatch(/member needs --group/);
  expect((await warren(['roles', 'grant', ana, 'owner'])).stdout).toMatch(
    /already is owner; nothing changed/,
  );
  const listing = await warren(['roles', 'list', ana]);
  expect(listing.stdout).toMatch(new RegExp(`${ana}\\s+member\\s+ag_`));
  expect(listing.stdout).toMatch(new RegExp(`${ana}\\s+owner\\s+\\(all\\)`));
  expect((await warren(['roles', 'revoke', ana, 'owner'])).stdout).toMatch(/is no longer owner/);

  const d = db();
  const audit = listAuditEvents(d, { target: { kind: 'user', id: ana } }).map((e) => e.action);
  expect(audit).toEqual(['role.revoked', 'role.granted', 'role.granted']);
  expect(listAuditEvents(d, { target: { kind: 'user', id: ana } })[0]!.actor).toMatch(/^cli:/);
  d.close();
});

test('suspend and activate change the status, recorded in the identity trail', async () => {
  expect((await warren(['users', 'suspend', 'telegram:42'])).stdout).toMatch(/suspended/);
  expect((await warren(['users', 'list'])).stdout).toMatch(
    new RegExp(`${bo}\\s+suspended\\s+Bo\\s+telegram:42`),
  );
  expect((await warren(['users', 'activate', bo])).stdout).toMatch('active');
  const d = db();
  expect(
    listIdentityEvents(d, bo)
      .filter((e) => e.event === 'status_changed')
      .map((e) => e.after),
  ).toEqual([{ status: 'suspended' }, { status: 'active' }]);
  d.close();
});

test('link, unlink, bind-code and merge', async () => {
  expect((await warren(['users', 'link', ana, 'slack', 'U1'])).stdout).toMatch('slack:U1 linked');
  expect((await warren(['users', 'link', bo, 'slack', 'U1'])).stderr).toMatch(/already belongs to/);
  expect((await warren(['users', 'unlink', ana, 'slack', 'U1'])).stdout).toMatch('unlinked');

  const code = await warren(['users', 'bind-code', ana]);
  expect(code.stdout).toMatch(/^[A-Z0-9]{5}-[A-Z0-9]{5}\nvalid once until /);

  const merged = await warren(['users', 'merge', 'telegram:42', 'webchat:ana']);
  expect(merged.stdout).toMatch(`${bo} merged into ${ana}: 1 account(s)`);
  const show = await warren(['users', 'show', ana, '--json']);
  const detail = JSON.parse(show.stdout) as { accounts: { kind: string }[] };
  expect(detail.accounts.map((a) => a.kind).sort()).toEqual(['telegram', 'webchat']);
  const d = db();
  expect(getUser(d, bo)?.mergedInto).toBe(ana);
  d.close();
  expect((await warren(['users', 'list'])).stdout).not.toContain(bo);
  expect((await warren(['users', 'list', '--all'])).stdout).toMatch(`merged into ${ana}`);
});

test('an unknown user or subcommand is a clear error', async () => {
  expect(await warren(['users', 'show', 'u_nobody'])).toMatchObject({
    code: 1,
    stderr: expect.stringMatching(/no user u_nobody/),
  });
  expect(await warren(['users', 'frobnicate'])).toMatchObject({
    code: 2,
    stderr: expect.stringMatching(/unknown subcommand/),
  });
});
