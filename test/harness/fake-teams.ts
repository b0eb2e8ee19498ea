// A fake Microsoft on 127.0.0.1 for tests of the Teams adapter: the Bot Framework's OpenID metadata and
// signing keys (a fresh RSA key per fake), the token endpoint (client credentials), and the Bot Connector
// (`{serviceUrl}v3/conversations/{id}/activities[/{id}]`). It signs inbound tokens as the Bot Framework
// does, and sends activities to a messaging endpoint with them. It records every connector call.
//
//   const teams = await startFakeTeams();
//   const adapter = createTeamsAdapter({ settings: teams.settings(), secret: teams.secret, … });
//   await teams.send(endpointUrl, teams.message({ conversation: 'a:dm', text: 'hi' }));   // signed
//   await teams.send(endpointUrl, activity, { token: teams.sign({ aud: 'someone-else' }) });
//   teams.failNext(1, { status: 429, retryAfter: 2 });           // the next connector post(s) fail
import { once } from 'node:events';
import { createSign, generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export const APP_ID = '6d1d5f5e-2c1a-4c7e-9a7e-0b7f8d2a1c3e';
export const APP_PASSWORD = 'fake-teams-client-secret';
export const TENANT_ID = 'f0e1d2c3-b4a5-4678-9abc-def012345678';
const ISSUER = 'https://api.botframework.com';
export const BOT_ID = `28:${APP_ID}`;

export interface ConnectorCall {
  method: 'POST' | 'PUT';
  /** The conversation id as the adapter sent it, decoded (a thread: `…;messageid=<root>`). */
  conversationId: string;
  /** The activity id in the path: a reply target (POST) or the activity updated (PUT). */
  activityId?: string;
  activity: {
    type: string;
    id?: string;
    text?: string;
    summary?: string;
    attachments?: { contentType: string; content: AdaptiveCardJson }[];
  };
  authorization: string | undefined;
  /** What the fake answered, and when (Date.now()). */
  status: number;
  at: number;
  /** The id given to a posted activity (2xx only). */
  id?: string;
}

export interface AdaptiveCardJson {
  type: 'AdaptiveCard';
  body: { type: string; text: string; weight?: string }[];
  actions?: { type: string; title: string; data: { token: string } }[];
}

export type ConnectorFault = { status: number; retryAfter?: number };

export interface FakeTeams {
  origin: string;
  /** The service URL activities carry (with a trailing slash, as Teams sends it). */
  serviceUrl: string;
  /** Connector calls, in order (faults included, with their status). */
  calls: ConnectorCall[];
  /** Posted activities that were accepted (2xx). */
  posted(): ConnectorCall[];
  /** How often the signing keys were fetched. */
  keyFetches(): number;
  tokenRequests: { clientId: string | null; clientSecret: string | null; scope: string | null }[];
  /** The adapter settings that point it here (appId, tokenUrl, openIdMetadataUrl). */
  settings(): Record<string, string>;
  secret(role: string): string;
  /** A Bot Framework token: RS256 by this fake's key, for APP_ID, valid now, for serviceUrl. */
  sign(claims?: Record<string, unknown>, options?: { key?: KeyObject; kid?: string }): string;
  /** A user's message activity. */
  message(input: ActivityInput): Record<string, unknown>;
  /** An Action.Submit press on a card: a message activity whose `value` is the button's data. */
  submit(input: ActivityInput & { token: string; replyToId: string }): Record<string, unknown>;
  /** POSTs an activity to a messaging endpoint; signed with a good token unless `token` says otherwise. */
  send(
    endpoint: string,
    activity: Record<string, unknown>,
    options?: { token?: string | null },
  ): Promise<{ status: number; body: string }>;
  failNext(count: number, fault: ConnectorFault): void;
  /** A key that is not the published one (a forged signature). */
  otherKey: KeyObject;
  close(): Promise<void>;
}

export interface ActivityInput {
  conversation: string;
  conversationType?: 'personal' | 'groupChat' | 'channel';
  text?: string;
  from?: { id: string; name?: string; aadObjectId?: string };
  id?: string;
  replyToId?: string;
  mentionBot?: boolean;
  serviceUrl?: string;
}

export async function startFakeTeams(): Promise<FakeTeams> {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const otherKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  const kid = `key-${randomUUID()}`;
  const calls: ConnectorCall[] = [];
  const tokenRequests: FakeTeams['tokenRequests'] = [];
  const issued = new Set<string>();
  const faults: ConnectorFault[] = [];
  let counter = 0;
  let keyFetches = 0;

  const server = createServer((req, res) => void answer(req, res).catch(() => res.destroy()));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const serviceUrl = `${origin}/amer/`;

  async function answer(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    const url = new URL(req.url ?? '/', origin);
    const json = (status: number, value: unknown): void =>
      void res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));

    if (req.method === 'GET' && url.pathname === '/v1/.well-known/openidconfiguration') {
      return json(200, {
        issuer: ISSUER,
        jwks_uri: `${origin}/v1/.well-known/keys`,
        id_token_signing_alg_values_supported: ['RS256'],
      });
    }
    if (req.method === 'GET' && url.pathname === '/v1/.well-known/keys') {
      keyFetches++;
      return json(200, { keys: [{ ...publicKey.export({ format: 'jwk' }), kid, use: 'sig', alg: 'RS256' }] });
    }
    if (req.method === 'POST' && url.pathname === `/${TENANT_ID}/oauth2/v2.0/token`) {
      const form = new URLSearchParams(body.toString());
      tokenRequests.push({
        clientId: form.get('client_id'),
        clientSecret: form.get('client_secret'),
        scope: form.get('scope'),
      });
      if (form.get('client_id') !== APP_ID || form.get('client_secret') !== APP_PASSWORD) {
        return json(401, {
          error: 'invalid_client',
          error_description: 'AADSTS7000215: Invalid client secret',
        });
      }
      const token = `bot-token-${++counter}`;
      issued.add(token);
      return json(200, { token_type: 'Bearer', expires_in: 3599, access_token: token });
    }
    const route = /^\/amer\/v3\/conversations\/([^/]+)\/activities(?:\/([^/]+))?$/.exec(url.pathname);
    if (route && (req.method === 'POST' || req.method === 'PUT')) {
      const call: ConnectorCall = {
        method: req.method,
        conversationId: decodeURIComponent(route[1]!),
        ...(route[2] !== undefined && { activityId: decodeURIComponent(route[2]) }),
        activity: JSON.parse(body.toString()) as ConnectorCall['activity'],
        authorization: req.headers.authorization,
        status: 200,
        at: Date.now(),
      };
      calls.push(call);
      const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
      if (bearer === undefined || !issued.has(bearer)) return void res.writeHead((call.status = 401)).end();
      const fault = call.activity.type === 'message' ? faults.shift() : undefined;
      if (fault) {
        call.status = fault.status;
        const headers = fault.retryAfter !== undefined ? { 'retry-after': String(fault.retryAfter) } : {};
        return void res.writeHead(fault.status, headers).end(JSON.stringify({ error: { code: 'Fault' } }));
      }
      if (req.method === 'PUT') return json(200, { id: call.activityId });
      call.status = 201;
      call.id = `1${String(Date.now()).slice(-9)}${String(++counter).padStart(3, '0')}`;
      return json(201, { id: call.id });
    }
    res.writeHead(404).end();
  }

  function sign(claims: Record<string, unknown> = {}, options: { key?: KeyObject; kid?: string } = {}) {
    const now = Math.floor(Date.now() / 1000);
    const header = { alg: 'RS256', typ: 'JWT', kid: options.kid ?? kid };
    const payload = {
      iss: ISSUER,
      aud: APP_ID,
      nbf: now - 5,
      exp: now + 3600,
      serviceurl: serviceUrl,
      ...claims,
    };
    const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const signed = `${encode(header)}.${encode(payload)}`;
    const signature = createSign('RSA-SHA256')
      .update(signed)
      .sign(options.key ?? privateKey, 'base64url');
    return `${signed}.${signature}`;
  }

  function base(input: ActivityInput, type: string) {
    const from = input.from ?? { id: '29:ada', name: 'Ada', aadObjectId: 'aad-ada' };
    const id = input.id ?? `1${String(Date.now()).slice(-9)}${String(++counter).padStart(3, '0')}`;
    return {
      type,
      id,
      timestamp: new Date().toISOString(),
      serviceUrl: input.serviceUrl ?? serviceUrl,
      channelId: 'msteams',
      from,
      recipient: { id: BOT_ID, name: 'Warren' },
      conversation: {
        id: input.conversation,
        conversationType: input.conversationType ?? 'personal',
        tenantId: TENANT_ID,
        ...(input.conversationType !== 'personal' &&
          input.conversationType !== undefined && { isGroup: true }),
      },
      ...(input.replyToId !== undefined && { replyToId: input.replyToId }),
    };
  }

  return {
    origin,
    serviceUrl,
    calls,
    posted: () => calls.filter((c) => c.method === 'POST' && c.status < 300 && c.activity.type === 'message'),
    tokenRequests,
    keyFetches: () => keyFetches,
    otherKey,
    settings: () => ({
      appId: APP_ID,
      tenantId: TENANT_ID,
      tokenUrl: `${origin}/${TENANT_ID}/oauth2/v2.0/token`,
      openIdMetadataUrl: `${origin}/v1/.well-known/openidconfiguration`,
    }),
    secret: (role) => {
      if (role !== 'appPassword') throw new Error(`no ${role} in the fake`);
      return APP_PASSWORD;
    },
    sign,
    message(input) {
      const text = input.mentionBot ? `<at>Warren</at> ${input.text ?? ''}` : (input.text ?? '');
      return {
        ...base(input, 'message'),
        text,
        textFormat: 'plain',
        ...(input.mentionBot && {
          entities: [{ type: 'mention', text: '<at>Warren</at>', mentioned: { id: BOT_ID, name: 'Warren' } }],
        }),
      };
    },
    submit(input) {
      return { ...base(input, 'message'), value: { token: input.token } };
    },
    async send(endpoint, activity, options = {}) {
      const token = options.token === undefined ? sign() : options.token;
      const response = await fetch(endpoint, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(token !== null && { authorization: `Bearer ${token}` }),
        },
        body: JSON.stringify(activity),
      });
      return { status: response.status, body: await response.text() };
    },
    failNext(count, fault) {
      for (let i = 0; i < count; i++) faults.push(fault);
    },
    async close() {
      server.closeAllConnections();
      server.close();
      await once(server, 'close').catch(() => {});
    },
  };
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
