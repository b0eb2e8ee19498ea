// WhatsApp end to end: a real host and real containers running the scripted agent, the WhatsApp adapter
// pointed at a fake Graph API on loopback (test/harness/fake-whatsapp.ts). A person writing is a
// notification signed with the app secret, POSTed to the host's /channels/whatsapp as Meta posts it;
// everything Warren says is read back from what reached the fake.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { getApproval } from '../../src/db/approvals.ts';
import type { User } from '../../src/db/users.ts';
import {
  buttonReply,
  notification,
  postWebhook,
  startFakeWhatsApp,
  textMessage,
  type FakeWhatsApp,
  type SentMessage,
} from '../harness/fake-whatsapp.ts';
import { deployApprovalRule, startWarren, waitUntil, type Warren } from '../harness/warren.ts';

const TOKEN = 'EAAG-e2e-access-token';
const APP_SECRET = 'e2e-app-secret';
const VERIFY_TOKEN = 'e2e-verify-token';
const OLGA = '15550001111'; // owns the install: approval cards reach her WhatsApp
const BOB = '15550002222';

let wa: FakeWhatsApp;
let w: Warren;
let olga: User;
let counter = 0;

beforeAll(async () => {
  wa = await startFakeWhatsApp({ token: TOKEN });
  w = await startWarren({
    installations: [
      {
        channelType: 'whatsapp',
        name: 'whatsapp',
        config: { apiBaseUrl: wa.apiBaseUrl, phoneNumberId: wa.phoneNumberId },
      },
    ],
    env: {
      WHATSAPP_ACCESS_TOKEN: TOKEN,
      WHATSAPP_APP_SECRET: APP_SECRET,
      WHATSAPP_VERIFY_TOKEN: VERIFY_TOKEN,
    },
    script: {
      rules: [
        deployApprovalRule('Deploy the site', 'v9', { reply: 'asked for approval' }),
        { match: '^approval_decided$', steps: [{ reply: 'decision: {{prompt}}' }] },
      ],
      default: [{ reply: 'echo: {{text}}' }],
    },
  });
  olga = w.wire.owner({ account: OLGA, name: 'Olga', dm: OLGA, channelType: 'whatsapp' });
  const main = w.wire.main();
  w.wire.wiring(w.wire.chat(OLGA, 'whatsapp'), main);
  w.wire.wiring(w.wire.chat(BOB, 'whatsapp'), main);
}, 120_000);

afterAll(async () => {
  await w?.stop();
  await wa?.close();
});

// ---- helpers ----

const webhookUrl = () => `${w.url}/channels/whatsapp`;
const names = { [OLGA]: 'Olga', [BOB]: 'Bob' };

/** `from` writes `text`: a signed notification; returns the message id and the host's answer. */
async function say(from: string, text: string, id = `wamid.e2e.${++counter}`) {
  const res = await postWebhook(
    webhookUrl(),
    APP_SECRET,
    notification(wa.phoneNumberId, [textMessage({ from, id, text })], names),
  );
  return { id, status: res.status };
}

const textOf = (m: SentMessage) => (m.body.text as { body?: string } | undefined)?.body;
const contextOf = (m: SentMessage) => (m.body.context as { message_id?: string } | undefined)?.message_id;
const repliesTo = (to: string, id: string) => wa.sent(to).filter((m) => contextOf(m) === id);

async function waitForReply(to: string, id: string, timeoutMs = 60_000): Promise<SentMessage> {
  return waitUntil(
    () => repliesTo(to, id)[0],
    timeoutMs,
    () => `no reply to ${id}; sent to ${to}: ${JSON.stringify(wa.sent(to).map(textOf))}`,
  );
}

/** One more message and its reply: what was sent to `to` before it (a session answers in order). */
async function sentinel(to: string, label: string): Promise<SentMessage[]> {
  const { id } = await say(to, `sentinel ${label}`);
  const reply = await waitForReply(to, id);
  expect(textOf(reply)).toBe(`echo: sentinel ${label}`);
  const all = wa.sent(to);
  return all.slice(0, all.indexOf(reply));
}

// ---- the tests, in order: they share one host and one fake ----

describe('whatsapp end to end', () => {
  test('the subscription check is answered through the host with the verify token', async () => {
    const url = `${webhookUrl()}?hub.mode=subscribe&hub.verify_token=${VERIFY_TOKEN}&hub.challenge=4242`;
    const ok = await fetch(url);
    expect(ok.status).toBe(200);
    expect(await ok.text()).toBe('4242');
    expect((await fetch(url.replace(VERIFY_TOKEN, 'wrong'))).status).toBe(403);
  });

  test('a signed notification gets one reply, answering the message', async () => {
    const { id, status } = await say(BOB, 'hello from WhatsApp');
    expect(status).toBe(200);
    const reply = await waitForReply(BOB, id);
    expect(textOf(reply)).toBe('echo: hello from WhatsApp');
    expect(reply.body).toMatchObject({ messaging_product: 'whatsapp', to: BOB, type: 'text' });
    const before = await sentinel(BOB, 'one');
    expect(before.filter((m) => contextOf(m) === id)).toHaveLength(1);
  }, 120_000);

  test('an unsigned notification is refused with 401 and never answered', async () => {
    const id = `wamid.e2e.unsigned`;
    const payload = notification(wa.phoneNumberId, [textMessage({ from: BOB, id, text: 'unsigned' })], names);
    expect((await postWebhook(webhookUrl(), APP_SECRET, payload, { signature: null })).status).toBe(401);
    expect((await postWebhook(webhookUrl(), 'not-the-secret', payload)).status).toBe(401);
    await sentinel(BOB, 'after unsigned');
    expect(repliesTo(BOB, id)).toEqual([]);
    expect(wa.sent(BOB).map(textOf)).not.toContain('echo: unsigned');
  }, 120_000);

  test('the same message delivered twice gets one reply', async () => {
    const id = 'wamid.e2e.twice';
    expect((await say(BOB, 'only once please', id)).status).toBe(200);
    expect((await say(BOB, 'only once please', id)).status).toBe(200);
    await waitForReply(BOB, id);
    const before = await sentinel(BOB, 'after duplicate');
    expect(before.filter((m) => contextOf(m) === id)).toHaveLength(1);
  }, 120_000);

  test('a pacing error (131056) on the first send is backed off and the reply delivered once', async () => {
    wa.failNext(1, { status: 400, code: 131056, message: 'pair rate limit hit' });
    const { id } = await say(BOB, 'pace me');
    const reply = await waitForReply(BOB, id);
    expect(textOf(reply)).toBe('echo: pace me');
    const refused = wa.refused().find((r) => (r.body.text as { body?: string }).body === 'echo: pace me');
    expect(refused?.fault.code).toBe(131056);
    expect(reply.at - refused!.at).toBeGreaterThanOrEqual(5_900);
    const before = await sentinel(BOB, 'after pacing');
    expect(before.filter((m) => textOf(m) === 'echo: pace me')).toHaveLength(1);
  }, 120_000);

  test("an approval card reaches the owner's WhatsApp as reply buttons, and her press decides it", async () => {
    const { id: ask } = await say(BOB, 'please deploy');
    const card = await waitUntil(
      () => wa.sent(OLGA).find((m) => m.type === 'interactive'),
      60_000,
      () => `no card for Olga; sent to her: ${JSON.stringify(wa.sent(OLGA).map((m) => m.type))}`,
    );
    expect(textOf(await waitForReply(BOB, ask))).toBe('asked for approval');
    const interactive = card.body.interactive as {
      type: string;
      header?: { text: string };
      body: { text: string };
      action: { buttons: { reply: { id: string; title: string } }[] };
    };
    expect(interactive.type).toBe('button');
    const buttons = interactive.action.buttons.map((b) => b.reply);
    expect(buttons.map((b) => b.title)).toEqual(['Approve', 'Reject']);
    for (const b of buttons) expect([...b.title].length).toBeLessThanOrEqual(20);
    const pending = w.db().prepare("SELECT id FROM approvals WHERE status = 'pending'").all() as {
      id: string;
    }[];
    expect(pending).toHaveLength(1);
    const approvalId = pending[0]!.id;
    // The card shows what is asked.
    expect(`${interactive.header?.text ?? ''}\n${interactive.body.text}`).toContain('version: "v9"');

    const approve = buttons.find((b) => b.title === 'Approve')!;
    const press = buttonReply({
      from: OLGA,
      id: 'wamid.e2e.press',
      buttonId: approve.id,
      title: 'Approve',
      context: card.id,
    });
    const res = await postWebhook(webhookUrl(), APP_SECRET, notification(wa.phoneNumberId, [press], names));
    expect(res.status).toBe(200);
    const outcome = await waitUntil(
      () => wa.sent(BOB).find((m) => (textOf(m) ?? '').startsWith('decision:')),
      60_000,
      () => `no decision reached Bob: ${JSON.stringify(wa.sent(BOB).map(textOf))}`,
    );
    expect(textOf(outcome)).toContain('approved: true');
    expect(textOf(outcome)).toContain('"version":"v9"');
    expect(getApproval(w.db(), approvalId)).toMatchObject({ status: 'approved', decidedBy: olga.id });
  }, 120_000);
});
