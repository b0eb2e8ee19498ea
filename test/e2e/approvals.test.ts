// Approvals and questions end to end: a real host, real containers running the scripted provider,
// the web chat HTTP API for both the agent's conversation and the owner's DM where cards arrive, and
// clicks posted to /webchat/api/actions as the chat page posts them (docs/approvals.md).
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { afterAll, beforeAll, expect, inject, test } from 'vitest';
import { getAgentGroup } from '../../src/db/agent-groups.ts';
import { getApproval } from '../../src/db/approvals.ts';
import { packageImageTag } from '../../src/host/containers/index.ts';
import {
  deployApprovalRule,
  startWarren,
  waitUntil,
  type ChatClient,
  type Reply,
  type SignedIn,
  type Warren,
} from '../harness/warren.ts';

let warren: Warren;
let ownerDm: ChatClient;
let olga: SignedIn;

beforeAll(async () => {
  warren = await startWarren({
    script: {
      rules: [
        deployApprovalRule('Deploy the site', 'v2', { reply: 'asked: {{tool_result}}' }),
        { match: '^approval_decided$', steps: [{ reply: 'decision: {{prompt}}' }] },
        {
          match: '^ask me',
          steps: [
            {
              tool: 'ask_user_question',
              args: { question: 'Which colour?', options: ['red', 'blue'], timeout: 300 },
            },
            { reply: 'asked' },
          ],
        },
        { match: '^question_answered$', steps: [{ reply: 'answer: {{prompt}}' }] },
        {
          match: '^install',
          steps: [
            { tool: 'install_packages', args: { npm: ['is-number@7.0.0'], reason: 'check numbers' } },
            { reply: 'requested' },
          ],
        },
        { match: '^packages_installed$', steps: [{ reply: 'installed: {{prompt}}' }] },
        // Said through a tool, so it arrives while this container still runs.
        { match: '^check', steps: [{ tool: 'send_message', args: { text: 'checking' } }, { delay: 8000 }] },
      ],
    },
  });
  // Olga's browser signed in through a login link: the only way to act as her in web chat.
  olga = await warren.signIn(warren.wire.owner({ account: 'olga', name: 'Olga', dm: 'olga-dm' }));
  ownerDm = await warren.chat('olga-dm', { as: olga });
}, 60_000);
/** The image install_packages builds below; removed before and after, so the build really runs. */
const packageImage = packageImageTag(inject('agentImage'), { apt: [], npm: ['is-number@7.0.0'] });
const removePackageImage = () =>
  warren.docker
    .getImage(packageImage)
    .remove({ force: true })
    .catch(() => undefined);

afterAll(async () => {
  await warren?.stop();
  if (warren) await removePackageImage();
});

const isCard = (title: RegExp) => (r: Reply) =>
  title.test((r.card as { title?: string } | undefined)?.title ?? '');

test('an agent asks for approval; the owner’s click in web chat approves it and the agent hears the outcome', async () => {
  const desk = await warren.chat('desk');
  await desk.send({ id: 'd1', text: 'please deploy' });
  const card = await ownerDm.waitForReply(isCard(/^Approval needed: Agent action/), 30_000);
  expect((card.card as { body: string }).body).toContain('version: "v2"');

  // Someone else posting the same click in their own chat is refused, and nothing changes.
  const mallory = await warren.chat('mallory-room');
  await warren.click('mallory-room', 'mallory', card, 'Approve');
  await mallory.waitForReply((r) => /^Sorry, only a signed-in person/.test(r.text), 10_000);
  const id = /Approval (apr_\S+),/.exec((card.card as { body: string }).body)![1]!;
  expect(getApproval(warren.db(), id)!.status).toBe('pending');
  // So is a local process replaying the card's value in Olga's chat under her account id.
  await warren.click('olga-dm', 'olga', card, 'Approve');
  await ownerDm.waitForReply((r) => /^Sorry, only a signed-in person/.test(r.text), 10_000);
  expect(getApproval(warren.db(), id)!.status).toBe('pending');

  await warren.click('olga-dm', olga, card, 'Approve');
  const outcome = await desk.waitForReply((r) => r.text.startsWith('decision:'), 30_000);
  expect(outcome.text).toContain('event="approval_decided"');
  expect(outcome.text).toContain('approved: true');
  expect(outcome.text).toContain('"version":"v2"');
  expect(getApproval(warren.db(), id)).toMatchObject({
    status: 'approved',
    followupsDoneAt: expect.any(String),
  });
}, 90_000);

test('ask_user_question: the person asked clicks an answer and the agent gets it', async () => {
  const room = await warren.chat('colours');
  await room.send({ id: 'c1', text: 'ask me', sender: { id: 'pat', name: 'Pat' } });
  const card = await room.waitForReply(isCard(/^Question$/), 30_000);
  await warren.click('colours', 'pat', card, 'blue');
  const answer = await room.waitForReply((r) => r.text.startsWith('answer:'), 30_000);
  expect(answer.text).toContain('answer: blue');
  expect(answer.text).toContain('event="question_answered"');
}, 90_000);

test('install_packages: approved, the image is rebuilt without stalling the host, and the next container uses it', async () => {
  await removePackageImage();
  const lab = await warren.chat('lab');
  await lab.send({ id: 'l1', text: 'install please' });
  const card = await ownerDm.waitForReply(isCard(/^Approval needed: Install packages/), 30_000);
  expect((card.card as { body: string }).body).toContain('- "is-number@7.0.0"');

  // The host runs in this process: its event loop is this one.
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  const started = Date.now();
  await warren.click('olga-dm', olga, card, 'Approve');
  const main = warren.wire.main();
  const image = await waitUntil(
    () => {
      const config = getAgentGroup(warren.db(), main.id)!.containerConfig as {
        imageBuild?: { status: string };
        image?: string;
      };
      if (config.imageBuild?.status === 'failed')
        throw new Error(`build failed: ${JSON.stringify(config.imageBuild)}`);
      return config.imageBuild?.status === 'ready' ? config.image : undefined;
    },
    120_000,
    () => 'the image build did not finish',
  );
  delay.disable();
  const buildMs = Date.now() - started;
  const p99 = delay.percentile(99) / 1e6;
  const max = delay.max / 1e6;
  console.log(
    `package image built in ${buildMs} ms; event-loop delay p99 ${p99.toFixed(1)} ms, max ${max.toFixed(1)} ms`,
  );
  expect(image).toBe(packageImage);
  // A blocking build (execSync, a synchronous copy) would stall the loop for the seconds it takes.
  expect(max).toBeLessThan(Math.min(1000, buildMs / 4));

  const told = await lab.waitForReply((r) => r.text.startsWith('installed:'), 60_000);
  expect(told.text).toContain(image!);
  // The container that was running keeps its image; the next one the session starts uses the new one.
  const session = warren.sessionOf('lab')!;
  const runningFor = () =>
    warren.docker.listContainers({ filters: { label: [`warren.session=${session.id}`] } });
  await waitUntil(
    async () => (await runningFor()).length === 0,
    30_000,
    () => 'the container did not exit',
  );
  await lab.send({ id: 'l2', text: 'check the image' });
  await lab.waitForReply((r) => r.text === 'checking', 30_000);
  const running = await runningFor();
  expect(running.map((c) => c.Image)).toEqual([image]);
  const exec = await warren.docker.getContainer(running[0]!.Id).exec({
    Cmd: ['node', '-e', "process.stdout.write(String(require('is-number')(7)))"],
    AttachStdout: true,
    AttachStderr: true,
  });
  const stream = await exec.start({});
  const output = await new Promise<string>((resolve) => {
    let text = '';
    stream.on('data', (chunk: Buffer) => (text += chunk.toString()));
    stream.on('end', () => resolve(text));
  });
  expect(output).toContain('true');
}, 240_000);
