// A session container running a real model agent has no way out but the gateway and never holds the
// key: looked at from the inside while the claude binary is mid-call (the fake holds its answer).
import { readdir, readFile } from 'node:fs/promises';
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

beforeAll(async () => {
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
    hostAddress(anthropic.url),
    Buffer.from(KEY).toString('base64'),
  ]);
  expect(probe.stderr).toBe('');
  const report = JSON.parse(probe.stdout) as ProbeReport;
  console.log('inside the container:', JSON.stringify({ ...report, processes: report.processes.length }));
  expect(report.interfaces).toEqual(['lo']);
  expect(report.direct).toMatch(/ECONNREFUSED/); // the fake's loopback address is the container's own
  expect(report.viaHostAddress).toMatch(/ENETUNREACH|EHOSTUNREACH|ECONNREFUSED|timeout/);
  expect(report.viaGateway).toEqual({ status: 200, text: 'ok' }); // the fake's fallback answer
  expect(report.processes.some((cmd) => cmd.includes('/app/claude/claude'))).toBe(true);
  expect(report.processes.some((cmd) => cmd.includes('runner.mjs'))).toBe(true);
  expect(report.readable).toBe(2); // the environ of the runner and of the binary were read
  expect(report.keyFound).toEqual([]);
  // The scan does read what a key would be in: the binary's environment holds the placeholder.
  expect(report.placeholderSeen).toHaveLength(1);

  // Nothing the container can read from the host holds the key either.
  for (const mount of container.Mounts) {
    expect({ mount: mount.Destination, files: await filesContaining(mount.Source!, KEY) }).toEqual({
      mount: mount.Destination,
      files: [],
    });
  }

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

/** Runs inside the container: argv = fake URL, the same port on a host address, the key (base64). */
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

/** The fake's port on one of the host's non-loopback addresses (what a bridge network would route to). */
function hostAddress(url: string): string {
  const port = new URL(url).port;
  const address = Object.values(networkInterfaces())
    .flat()
    .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;
  return `http://${address ?? '10.255.255.1'}:${port}`;
}

/** Files under `root` whose bytes contain `needle` (sockets and other special files skipped). */
async function filesContaining(root: string, needle: string): Promise<string[]> {
  const found: string[] = [];
  const entries = await readdir(root, { withFileTypes: true, recursive: true }).catch(() => []);
  for (const entry of entries) {
    if (!entry.isFile()) continue;
    const file = join(entry.parentPath, entry.name);
    const bytes = await readFile(file).catch(() => Buffer.alloc(0));
    if (bytes.includes(needle)) found.push(file);
  }
  return found;
}
