// A session container running a real model agent has no way out but the gateway and never holds the
// key: looked at from the inside while the claude binary is mid-call (the fake holds its answer).
import { readdir, readFile, stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { PLACEHOLDER_API_KEY } from '../../container/agent-runner/src/providers/claude.ts';
import { execIn } from '../harness/container-exec.ts';
import { startFakeAnthropic, type FakeAnthropic } from '../harness/fake-anthropic.ts';
import { startWarren, waitUntil, type Warren } from '../harness/warren.ts';

const KEY = 'sk-ant-isolation-RECOGNIZABLE-4b7e21';
const MODEL = 'claude-isolation-1';

let warren: Warren;
let anthropic: FakeAnthropic;
let hostListener: Awaited<ReturnType<typeof listenOnHostAddress>>;

beforeAll(async () => {
  hostListener = await listenOnHostAddress();
  anthropic = await startFakeAnthropic({ apiKey: KEY });
  warren = await startWarren({ env: { ANTHROPIC_API_KEY: KEY } });
  warren.wire.model(warren.wire.main(), {
    provider: 'claude',
    model: MODEL,
    modelConfig: { baseUrl: anthropic.url },
  });
});
afterAll(async () => {
  await warren?.stop();
  await anthropic?.close();
  await hostListener?.close();
});

test('the container reaches the model only through the gateway and holds no key anywhere', async () => {
  let release = () => {};
  const held = new Promise<void>((resolve) => (release = resolve));
  anthropic.reply({ text: 'Answered after the inspection.', holdUntil: held });
  const chat = await warren.chat('isolation');
  await chat.send({ id: 'isolation-1', text: 'hello' });
  await waitUntil(
    () => anthropic.requests.length > 0,
    60_000,
    () => 'the model was never called',
  );
  const session = warren.sessionOf('isolation')!;
  const [ref] = (await warren.containers()).filter((c) => c.labels['warren.session'] === session.id);
  const container = await warren.docker.getContainer(ref!.id).inspect();

  // The environment the engine started it with: no key, only the model's name.
  const env = container.Config.Env.join('\n');
  expect(env).not.toContain(KEY);
  expect(env).toContain(`WARREN_MODEL=${MODEL}`);
  expect(container.HostConfig.NetworkMode).toBe('none');

  // From the inside, while the claude binary waits for its answer.
  const probe = await execIn(warren.docker, ref!.id, [
    'node',
    '-e',
    PROBE,
    anthropic.url,
    hostListener.url,
    Buffer.from(KEY).toString('base64'),
  ]);
  expect(probe.stderr).toBe('');
  const report = JSON.parse(probe.stdout) as ProbeReport;
  console.log('inside the container:', JSON.stringify({ ...report, processes: report.processes.length }));
  expect(report.interfaces).toEqual(['lo']);
  expect(report.direct).toMatch(/ECONNREFUSED/); // the fake's loopback address is the container's own
  // Something answers there for the host; nothing gets through for the container.
  expect(await fetch(hostListener.url).then((r) => r.status)).toBe(204);
  expect(report.viaHostAddress).toMatch(/ENETUNREACH|EHOSTUNREACH|timeout/);
  expect(report.viaGateway).toEqual({ status: 200, text: 'ok' }); // the fake's fallback answer
  expect(report.processes.some((cmd) => cmd.includes('/app/claude/claude'))).toBe(true);
  expect(report.processes.some((cmd) => cmd.includes('runner.mjs'))).toBe(true);
  expect(report.readable).toBe(2); // the environ of the runner and of the binary were read
  expect(report.keyFound).toEqual([]);
  // The scan does read what a key would be in: the binary's environment holds the placeholder.
  expect(report.placeholderSeen).toHaveLength(1);

  // Nothing the container can read from the host holds the key either; every file was read, and the
  // mounts that must hold files did.
  const scans = await Promise.all(
    container.Mounts.map(async (m) => ({ mount: m.Destination, ...(await scan(m.Source!, KEY)) })),
  );
  for (const { mount, containing } of scans) expect({ mount, containing }).toEqual({ mount, containing: [] });
  expect(scans.filter((s) => s.read > 0).map((s) => s.mount)).toEqual(
    expect.arrayContaining(['/session/in', '/session/out', '/app/runner', '/app/claude']),
  );

  release();
  expect((await chat.waitForReply((r) => r.inReplyTo === 'isolation-1', 60_000)).text).toBe(
    'Answered after the inspection.',
  );
  // Every call the fake saw came through the gateway, which put the host's key on it.
  expect(anthropic.requests.every((r) => r.headers['x-api-key'] === KEY)).toBe(true);
});

interface ProbeReport {
  interfaces: string[];
  direct: string;
  viaHostAddress: string;
  viaGateway: { status: number; text: string } | string;
  processes: string[];
  readable: number;
  keyFound: string[];
  placeholderSeen: string[];
}

/** Runs inside the container: argv = fake URL, a listener on a host address, the key (base64). */
const PROBE = `
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const [fakeUrl, hostUrl, encodedKey] = process.argv.slice(1);
const key = Buffer.from(encodedKey, 'base64').toString(); // not in this probe's own command line
const attempt = (url) => fetch(url + '/v1/messages', { method: 'POST', signal: AbortSignal.timeout(3000) })
  .then((r) => 'answered ' + r.status)
  .catch((e) => String(e.cause?.code ?? e.cause?.message ?? (e.name === 'TimeoutError' ? 'timeout' : e.message)));
const viaGateway = () => new Promise((resolve) => {
  const body = JSON.stringify({ model: '${MODEL}', max_tokens: 16, messages: [{ role: 'user', content: 'probe' }] });
  const req = http.request({ socketPath: '/session/gateway/model.sock', path: '/v1/messages', method: 'POST',
    headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01', 'x-api-key': 'nothing' } }, (res) => {
    let text = ''; res.on('data', (c) => (text += c));
    res.on('end', () => { try { resolve({ status: res.statusCode, text: JSON.parse(text).content[0].text }); } catch { resolve(text); } });
  });
  req.on('error', (e) => resolve(String(e)));
  req.end(body);
});
(async () => {
  const processes = []; const keyFound = []; const placeholderSeen = []; let readable = 0;
  for (const pid of fs.readdirSync('/proc').filter((p) => /^\\d+$/.test(p) && p !== String(process.pid))) {
    for (const file of ['cmdline', 'environ']) {
      let text;
      try { text = fs.readFileSync('/proc/' + pid + '/' + file, 'latin1'); } catch { continue; }
      if (file === 'cmdline') processes.push(text.split('\\0').join(' ').trim());
      else readable++;
      if (text.includes(key)) keyFound.push(pid + '/' + file);
      if (text.includes('ANTHROPIC_API_KEY=${PLACEHOLDER_API_KEY}')) placeholderSeen.push(pid + '/' + file);
    }
  }
  console.log(JSON.stringify({
    interfaces: Object.keys(os.networkInterfaces()),
    direct: await attempt(fakeUrl),
    viaHostAddress: await attempt(hostUrl),
    viaGateway: await viaGateway(),
    processes, readable, keyFound, placeholderSeen,
  }));
})();
`;

/**
 * An HTTP listener on one of the host's non-loopback addresses (what a bridge network would route to).
 * A host without one cannot show the container is cut off from it: the test fails rather than pass.
 */
async function listenOnHostAddress(): Promise<{ url: string; close: () => Promise<void> }> {
  const address = Object.values(networkInterfaces())
    .flat()
    .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;
  if (!address) throw new Error('the host has no non-loopback IPv4 address to probe from the container');
  const server = createServer((_req, res) => res.writeHead(204).end());
  await new Promise<void>((resolve) => server.listen(0, address, resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${address}:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/**
 * Reads every file under `root` (or `root` itself when it is a file); sockets and other special files
 * are not files. A file or folder that cannot be read throws: a scan that skipped it proves nothing.
 */
async function scan(root: string, needle: string): Promise<{ read: number; containing: string[] }> {
  const files = (await stat(root)).isFile()
    ? [root]
    : (await readdir(root, { withFileTypes: true, recursive: true }))
        .filter((entry) => entry.isFile())
        .map((entry) => join(entry.parentPath, entry.name));
  const containing: string[] = [];
  for (const file of files) if ((await readFile(file)).includes(needle)) containing.push(file);
  return { read: files.length, containing };
}
