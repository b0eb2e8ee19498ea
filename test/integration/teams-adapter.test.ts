// The Teams adapter against a fake Microsoft on loopback (test/harness/fake-teams.ts: OpenID metadata and
// keys, the token endpoint, the Bot Connector). Its messaging endpoint is served as the host serves it;
// the fake signs activities' tokens with its own RSA key. No host, no containers: what the adapter hands
// the machinery, what it refuses, and what it posts.
import pino from 'pino';
import { beforeEach, expect, test } from 'vitest';
import type { InboundMessage } from '../../src/host/channels/channel.ts';
import { ChannelSendError } from '../../src/host/channels/channel.ts';
import { ADAPTIVE_CARD, createTeamsAdapter } from '../../src/host/channels/adapters/teams/index.ts';
import type { PlatformEvents } from '../../src/host/channels/platform.ts';
import { memoryChannelState } from '../harness/channel-state.ts';
import { serveChannel } from '../harness/channel-server.ts';
import { cleanupsAfterEach } from '../harness/cleanups.ts';
import { APP_ID, startFakeTeams, type FakeTeams } from '../harness/fake-teams.ts';

const cleanups = cleanupsAfterEach();
const log = pino({ level: process.env.TEAMS_TEST_LOG ?? 'silent' });
let teams: FakeTeams;

beforeEach(async () => {
  teams = await startFakeTeams();
  cleanups.push(() => teams.close());
});

const CHANNEL = '19:general@thread.tacv2';

async function started(overrides: { store?: (m: InboundMessage) => Promise<void> } = {}) {
  const state = memoryChannelState();
  const adapter = createTeamsAdapter({
    installation: 'teams',
    settings: { ...teams.settings(), mode: 'bot' },
    secret: teams.secret,
    maxInboundFileBytes: 1024,
    state,
    log,
    clock: () => new Date(),
  });
  const received: { message: InboundMessage; eventId: string | undefined }[] = [];
  const seen = new Set<string>();
  const events: PlatformEvents = {
    async message(message, eventId) {
      // The machinery's cheap dedup on the delivery id (platform-channel.ts).
      if (eventId !== undefined && seen.has(eventId)) return;
      await overrides.store?.(message);
      if (eventId !== undefined) seen.add(eventId);
      received.push({ message, eventId });
    },
    alive: () => {},
    failed: () => {},
  };
  await adapter.start(events);
  cleanups.push(() => adapter.stop());
  const server = await serveChannel({ mountPath: '/channels/teams', app: adapter.http }, log, cleanups);
  return { adapter, received, state, endpoint: `${server.url}/channels/teams/api/messages` };
}

test('an activity without a token, or with a token signed by another key, for another audience, expired or for another service URL, is refused with 401 and reaches nothing', async () => {
  const { received, endpoint, state } = await started();
  const activity = teams.message({ conversation: 'a:dm-ada', text: 'let me in' });
  const now = Math.floor(Date.now() / 1000);
  const refused = {
    unsigned: await teams.send(endpoint, activity, { token: null }),
    garbage: await teams.send(endpoint, activity, { token: 'not-a-jwt' }),
    wrongKey: await teams.send(endpoint, activity, { token: teams.sign({}, { key: teams.otherKey }) }),
    wrongAudience: await teams.send(endpoint, activity, {
      token: teams.sign({ aud: '00000000-0000-0000-0000-000000000000' }),
    }),
    wrongIssuer: await teams.send(endpoint, activity, { token: teams.sign({ iss: 'https://evil.example' }) }),
    expired: await teams.send(endpoint, activity, {
      token: teams.sign({ nbf: now - 7200, exp: now - 3600 }),
    }),
    notYetValid: await teams.send(endpoint, activity, { token: teams.sign({ nbf: now + 3600 }) }),
    otherServiceUrl: await teams.send(endpoint, activity, {
      token: teams.sign({ serviceurl: 'https://smba.evil.example/amer/' }),
    }),
    noServiceUrl: await teams.send(endpoint, activity, { token: teams.sign({ serviceurl: undefined }) }),
    algNone: await teams.send(endpoint, activity, {
      token: `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${Buffer.from(
        JSON.stringify({ aud: APP_ID, iss: 'https://api.botframework.com', exp: now + 60 }),
      ).toString('base64url')}.x`,
    }),
  };
  for (const [name, answer] of Object.entries(refused)) expect([name, answer.status]).toEqual([name, 401]);
  // An activity whose own serviceUrl differs from its (valid) token's: replies would go elsewhere.
  const redirected = await teams.send(endpoint, {
    ...activity,
    serviceUrl: 'https://smba.evil.example/amer/',
  });
  expect(redirected.status).toBe(401);
  expect(received).toEqual([]);
  expect(state.entries.size).toBe(0);

  // The same activity with a good token goes through.
  expect((await teams.send(endpoint, activity)).status).toBe(200);
  expect(received.map((r) => r.message.text)).toEqual(['let me in']);
});

test('tokens naming keys never published are refused without fetching the key set for each; unreadable keys answer 503 so Teams retries', async () => {
  const { received, endpoint } = await started();
  const activity = teams.message({ conversation: 'a:dm-ada', text: 'hi' });
  expect((await teams.send(endpoint, activity)).status).toBe(200);
  const fetchesBefore = teams.keyFetches();
  for (let i = 0; i < 20; i++) {
    const answer = await teams.send(endpoint, activity, {
      token: teams.sign({}, { key: teams.otherKey, kid: `made-up-${i}` }),
    });
    expect(answer.status).toBe(401);
  }
  expect(teams.keyFetches() - fetchesBefore).toBeLessThanOrEqual(1);
  expect(received).toHaveLength(1);

  const unreachable = createTeamsAdapter({
    installation: 'teams',
    settings: { ...teams.settings(), openIdMetadataUrl: `${teams.origin}/nowhere/openidconfiguration` },
    secret: teams.secret,
    maxInboundFileBytes: 1024,
    state: memoryChannelState(),
    log,
    clock: () => new Date(),
  });
  await unreachable.start({ message: async () => {}, alive: () => {}, failed: () => {} });
  cleanups.push(() => unreachable.stop());
  const server = await serveChannel({ mountPath: '/channels/teams', app: unreachable.http }, log, cleanups);
  expect((await teams.send(`${server.url}/channels/teams/api/messages`, activity)).status).toBe(503);
  // Without a token nothing is fetched at all: 401 straight away.
  expect(
    (await teams.send(`${server.url}/channels/teams/api/messages`, activity, { token: null })).status,
  ).toBe(401);
});

test('a personal message and a channel mention are normalized: chat without the thread mark, thread, sender by AAD id, mention stripped', async () => {
  const { received, endpoint, state } = await started();
  const dm = teams.message({ conversation: 'a:dm-ada', text: 'hello there', id: '1700000000001' });
  expect((await teams.send(endpoint, dm)).status).toBe(200);
  const root = '1700000000100';
  const inChannel = teams.message({
    conversation: `${CHANNEL};messageid=${root}`,
    conversationType: 'channel',
    text: 'what is up?',
    mentionBot: true,
    id: '1700000000200',
    replyToId: root,
  });
  expect((await teams.send(endpoint, inChannel)).status).toBe(200);
  const chatter = teams.message({
    conversation: `${CHANNEL};messageid=1700000000300`,
    conversationType: 'channel',
    text: 'lunch?',
    id: '1700000000300',
  });
  expect((await teams.send(endpoint, chatter)).status).toBe(200);

  expect(received.map((r) => r.eventId)).toEqual(['1700000000001', '1700000000200', '1700000000300']);
  const [first, second, third] = received.map((r) => r.message);
  expect(first).toMatchObject({
    channelType: 'teams',
    platformMessageId: '1700000000001',
    chat: { id: 'a:dm-ada', isGroup: false },
    sender: { id: 'aad-ada', name: 'Ada', isBot: false },
    threadId: null,
    text: 'hello there',
    mentioned: true,
  });
  expect(second).toMatchObject({
    chat: { id: CHANNEL, isGroup: true },
    threadId: root,
    text: 'what is up?',
    mentioned: true,
  });
  expect(third).toMatchObject({ chat: { id: CHANNEL }, threadId: '1700000000300', mentioned: false });
  // Each conversation's service URL is remembered (for replies after a restart).
  expect(state.get(`serviceUrl:${CHANNEL}`)).toBe(teams.serviceUrl);
  expect(state.get('serviceUrl:a:dm-ada')).toBe(teams.serviceUrl);
});

test('the same activity delivered twice reaches the machinery once; one that failed to store gets a 500 and is taken when redelivered', async () => {
  let failNext = true;
  const { received, endpoint } = await started({
    store: async () => {
      if (failNext) {
        failNext = false;
        throw new Error('database is locked');
      }
    },
  });
  const activity = teams.message({ conversation: 'a:dm-ada', text: 'once', id: '1700000000555' });
  expect((await teams.send(endpoint, activity)).status).toBe(500);
  expect((await teams.send(endpoint, activity)).status).toBe(200);
  expect((await teams.send(endpoint, activity)).status).toBe(200);
  expect(received).toHaveLength(1);
  expect(received[0]!.eventId).toBe('1700000000555');
});

test('a reply in a channel thread is posted to the thread; a personal reply to the conversation; both with the bot token', async () => {
  const { adapter, endpoint } = await started();
  await teams.send(
    endpoint,
    teams.message({
      conversation: `${CHANNEL};messageid=42`,
      conversationType: 'channel',
      text: 'x',
      mentionBot: true,
    }),
  );
  await teams.send(endpoint, teams.message({ conversation: 'a:dm-ada', text: 'y' }));

  const inThread = await adapter.post({
    chatId: CHANNEL,
    threadId: '42',
    replyTo: '43',
    text: 'in the thread',
  });
  const personal = await adapter.post({ chatId: 'a:dm-ada', threadId: null, replyTo: null, text: '**hi**' });
  const [threadPost, dmPost] = teams.posted();
  expect(threadPost).toMatchObject({
    conversationId: `${CHANNEL};messageid=42`,
    activity: { type: 'message', text: 'in the thread', textFormat: 'markdown' },
    id: inThread.platformMessageId,
  });
  expect(dmPost).toMatchObject({
    conversationId: 'a:dm-ada',
    activity: { text: '**hi**' },
    id: personal.platformMessageId,
  });
  expect(threadPost!.authorization).toMatch(/^Bearer bot-token-\d+$/);
  // One token for both (cached), fetched with the app's credentials and the Bot Framework scope.
  expect(teams.tokenRequests).toEqual([
    {
      clientId: APP_ID,
      clientSecret: 'fake-teams-client-secret',
      scope: 'https://api.botframework.com/.default',
    },
  ]);

  await adapter.edit!(CHANNEL, '42', inThread.platformMessageId, 'edited');
  await adapter.typing!('a:dm-ada', null);
  const [edit, typing] = teams.calls.slice(-2);
  expect(edit).toMatchObject({
    method: 'PUT',
    conversationId: `${CHANNEL};messageid=42`,
    activityId: inThread.platformMessageId,
    activity: { text: 'edited', attachments: [] },
  });
  expect(typing).toMatchObject({ method: 'POST', conversationId: 'a:dm-ada', activity: { type: 'typing' } });
});

test('a card goes as an Adaptive Card with an Action.Submit per button; pressing one comes back as the button token', async () => {
  const { adapter, endpoint, received } = await started();
  await teams.send(endpoint, teams.message({ conversation: 'a:dm-olga', text: 'hi' }));
  const card = await adapter.post({
    chatId: 'a:dm-olga',
    threadId: null,
    replyTo: null,
    text: '',
    card: { title: 'Deploy the site?', body: 'version v2', options: [] },
    buttons: [
      { label: 'Approve', token: 'tok-approve' },
      { label: 'Reject', token: 'tok-reject' },
    ],
  });
  const posted = teams.posted().at(-1)!;
  expect(posted.activity.summary).toBe('Deploy the site?');
  const attachment = posted.activity.attachments![0]!;
  expect(attachment.contentType).toBe(ADAPTIVE_CARD);
  expect(attachment.content.type).toBe('AdaptiveCard');
  expect(attachment.content.body.map((b) => [b.type, b.text])).toEqual([
    ['TextBlock', 'Deploy the site?'],
    ['TextBlock', 'version v2'],
  ]);
  expect(attachment.content.actions!.map((a) => [a.type, a.title, a.data])).toEqual([
    ['Action.Submit', 'Approve', { token: 'tok-approve' }],
    ['Action.Submit', 'Reject', { token: 'tok-reject' }],
  ]);

  received.length = 0;
  const press = teams.submit({
    conversation: 'a:dm-olga',
    from: { id: '29:olga', name: 'Olga', aadObjectId: 'aad-olga' },
    token: 'tok-approve',
    replyToId: card.platformMessageId,
  });
  expect((await teams.send(endpoint, press)).status).toBe(200);
  // The same press as an adaptiveCard/action invoke (newer clients) answers with an invoke response.
  const invoke = {
    ...press,
    id: 'invoke-1',
    type: 'invoke',
    name: 'adaptiveCard/action',
    value: { action: { type: 'Action.Submit', data: { token: 'tok-reject' } } },
  };
  const invoked = await teams.send(endpoint, invoke);
  expect(invoked.status).toBe(200);
  expect(JSON.parse(invoked.body)).toMatchObject({ statusCode: 200 });
  expect(received.map((r) => r.message)).toMatchObject([
    {
      sender: { id: 'aad-olga' },
      text: 'tok-approve',
      mentioned: true,
      action: { value: 'tok-approve', platformMessageId: card.platformMessageId },
    },
    { action: { value: 'tok-reject' } },
  ]);
});

test('the connector answering 413 is too_large (not retried), 429 is rate_limited with its Retry-After, 412/502/504 are transient, 403 forbidden', async () => {
  const { adapter, endpoint } = await started();
  await teams.send(endpoint, teams.message({ conversation: 'a:dm-ada', text: 'hi' }));
  const post = () =>
    adapter.post({ chatId: 'a:dm-ada', threadId: null, replyTo: null, text: 'x' }).then(
      () => undefined,
      (error: unknown) => error as ChannelSendError,
    );
  const cases: [number, number | undefined, string, number | undefined][] = [
    [413, undefined, 'too_large', undefined],
    [429, 7, 'rate_limited', 7000],
    [429, undefined, 'rate_limited', 1000],
    [412, undefined, 'transient', undefined],
    [502, undefined, 'transient', undefined],
    [504, undefined, 'transient', undefined],
    [403, undefined, 'forbidden', undefined],
    [400, undefined, 'invalid_request', undefined],
  ];
  for (const [status, retryAfter, code, wait] of cases) {
    teams.failNext(1, { status, ...(retryAfter !== undefined && { retryAfter }) });
    const error = await post();
    expect(error).toBeInstanceOf(ChannelSendError);
    expect([status, error!.code, error!.retryAfterMs]).toEqual([status, code, wait]);
  }
  // Nothing was posted twice by the adapter itself: one call per post().
  expect(teams.calls.filter((c) => c.method === 'POST')).toHaveLength(cases.length);
});

test('a conversation never heard from has no service URL: the post fails as not_found; a wrong secret fails start and probe as auth_failed', async () => {
  const { adapter } = await started();
  await expect(
    adapter.post({ chatId: 'a:stranger', threadId: null, replyTo: null, text: 'x' }),
  ).rejects.toMatchObject({ code: 'not_found' });
  expect(await adapter.probe()).toEqual({ botName: APP_ID });

  const wrong = createTeamsAdapter({
    installation: 'teams',
    settings: teams.settings(),
    secret: () => 'wrong-secret',
    maxInboundFileBytes: 1024,
    state: memoryChannelState(),
    log,
    clock: () => new Date(),
  });
  await expect(wrong.probe()).rejects.toMatchObject({ code: 'auth_failed' });
  await expect(
    wrong.start({ message: async () => {}, alive: () => {}, failed: () => {} }),
  ).rejects.toMatchObject({ code: 'auth_failed' });
});

test('settings are checked: an unknown key or a malformed app id is refused with its name', () => {
  const make = (settings: Record<string, unknown>) => () =>
    createTeamsAdapter({
      installation: 'teams',
      settings,
      secret: teams.secret,
      maxInboundFileBytes: 1024,
      state: memoryChannelState(),
      log,
      clock: () => new Date(),
    });
  expect(make({ ...teams.settings(), colour: 'blue' })).toThrow(/colour/);
  expect(make({ ...teams.settings(), appId: 'not-a-guid' })).toThrow(/appId/);
});
