// A small world for approvals tests: a real central database and session files in a temporary
// folder, two recording channels (`text`: plain text, no buttons, no edits; `rich`: cards, buttons,
// edits), an owner, a global admin, an admin of one agent group and an outsider, each with a DM,
// and the approvals engine built on them with a clock the test moves.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { createAdminApi, type AdminApiDeps } from '../../src/host/api/index.ts';
import { createAgentGroup, type AgentGroup } from '../../src/db/agent-groups.ts';
import { openCentralDb, type Db } from '../../src/db/connection.ts';
import {
  createMessagingGroup,
  findMessagingGroup,
  type MessagingGroup,
} from '../../src/db/messaging-groups.ts';
import { grantRole } from '../../src/db/roles.ts';
import { setUserDm } from '../../src/db/user-dms.ts';
import { addIdentity, createUser, type User } from '../../src/db/users.ts';
import { createApprovals, type ApprovalLinks, type Approvals } from '../../src/host/approvals/index.ts';
import { createMetrics, type HostMetrics } from '../../src/host/metrics/index.ts';
import {
  Capability,
  type Channel,
  type InboundMessage,
  type OutboundMessage,
} from '../../src/host/channels/channel.ts';
import { createChannelRegistry, type ChannelRegistry } from '../../src/host/channels/registry.ts';
import {
  combineActions,
  createDelivery,
  createNotices,
  type Delivery,
} from '../../src/host/delivery/index.ts';
import { insertMessagesIn } from '../../src/host/sessions/index.ts';
import { resolveSession } from '../../src/host/sessions/resolve.ts';
import type { SessionPaths } from '../../src/host/sessions/index.ts';
import type { PackageSet } from '../../src/host/containers/index.ts';
import type { ToolResult } from '../../container/agent-runner/src/providers/provider.ts';
import { callAgentTool } from './agent-tool.ts';

export interface RecordingChannel extends Channel {
  sent: OutboundMessage[];
}

export function recordingChannel(type: string, capabilities: number): RecordingChannel {
  const sent: OutboundMessage[] = [];
  let n = 0;
  return {
    type,
    capabilities,
    sent,
    async connect() {},
    async disconnect() {},
    async send(message) {
      sent.push(message);
      return { platformMessageId: `${type}-msg-${++n}` };
    },
    health: () => ({ connected: true, lastInboundAt: null, lastOutboundAt: null, lastError: null }),
  };
}

export interface Person {
  user: User;
  /** Their DM chat's platform id, on `channel`. */
  dm: string;
  channel: 'text' | 'rich';
}

export interface World {
  root: string;
  dataDir: string;
  groupsDir: string;
  db: Db;
  engine: Approvals;
  channels: ChannelRegistry;
  /** Delivery with the engine's hooks (agents' actions and questions), polling off. */
  delivery: Delivery;
  text: RecordingChannel;
  rich: RecordingChannel;
  main: AgentGroup;
  other: AgentGroup;
  owner: Person;
  /** Admin of every agent group. */
  globalAdmin: Person;
  /** Admin of `other` only. */
  otherAdmin: Person;
  outsider: Person;
  replayed: InboundMessage[];
  woken: string[];
  /** Where the engine counts decisions and dropped held messages (no process metrics). */
  metrics: HostMetrics;
  builds: PackageSet[];
  now(): Date;
  advance(ms: number): void;
  /** A session of the agent group, in the `rich` chat `team` (default) where its agent talks. */
  session(
    agentGroup: AgentGroup,
    chat?: { channel: 'text' | 'rich'; id: string },
  ): { id: string; paths: SessionPaths };
  /** A person's chat message written into the session, as the router would; returns its row id. */
  said(session: { paths: SessionPaths }, from: Person, text: string): string;
  /** The agent calls one of its tools (real MCP client) while answering `inReplyTo`; then delivery runs. */
  agent(
    session: { id: string; paths: SessionPaths },
    tool: string,
    args: Record<string, unknown>,
    inReplyTo?: string,
  ): Promise<ToolResult>;
  /** A message (or a click, with `action`) from a person on their channel, in a chat (default: their DM). */
  inbound(from: Person, text: string, options?: { chat?: string; action?: string }): InboundMessage;
  close(): void;
}

export interface WorldOptions {
  /** What an image build does (default: resolves with a tag). */
  build?: (packages: PackageSet) => Promise<string>;
  /** Signed links on cards shown without buttons (the `text` channel). */
  links?: ApprovalLinks;
}

export function createWorld(options: WorldOptions = {}): World {
  const root = mkdtempSync(join(tmpdir(), 'warren-approvals-'));
  const dataDir = join(root, 'data');
  const groupsDir = join(root, 'groups');
  const db = openCentralDb(join(dataDir, 'warren.db'));
  let now = new Date('2026-06-01T10:00:00.000Z');
  const iso = () => now.toISOString();
  const text = recordingChannel('text', 0);
  const rich = recordingChannel('rich', Capability.RichCard | Capability.Buttons | Capability.Edit);
  const channels = createChannelRegistry();
  channels.register(text);
  channels.register(rich);

  const main = createAgentGroup(db, { name: 'Main', folder: 'main' }, iso());
  const other = createAgentGroup(db, { name: 'Other', folder: 'other' }, iso());

  let messages = 0;
  const person = (name: string, channel: 'text' | 'rich'): Person => {
    const user = createUser(db, { displayName: name }, iso());
    addIdentity(db, { userId: user.id, kind: channel, externalId: name.toLowerCase() }, 'test', iso());
    const dm = `dm-${name.toLowerCase()}`;
    const chat = createMessagingGroup(db, { channelType: channel, platformId: dm }, iso());
    setUserDm(db, user.id, chat.id, iso());
    return { user, dm, channel };
  };
  const owner = person('Olga', 'text');
  const globalAdmin = person('Gus', 'rich');
  const otherAdmin = person('Ada', 'rich');
  const outsider = person('Mallory', 'rich');
  grantRole(db, { userId: owner.user.id, role: 'owner' }, 'test', iso());
  grantRole(db, { userId: globalAdmin.user.id, role: 'admin' }, 'test', iso());
  grantRole(db, { userId: otherAdmin.user.id, role: 'admin', agentGroupId: other.id }, 'test', iso());

  const replayed: InboundMessage[] = [];
  const woken: string[] = [];
  const builds: PackageSet[] = [];
  const notices = createNotices({ db, dataDir, channels, clock: () => now, log: pino({ level: 'silent' }) });
  const metrics = createMetrics({ defaultMetrics: false });
  const engine = createApprovals({
    metrics,
    db,
    dataDir,
    groupsDir,
    channels,
    send: notices.send,
    clock: () => now,
    log: pino({ level: 'silent' }),
    wake: (id) => woken.push(id),
    replay: async (message) => void replayed.push(message),
    ...(options.links ? { links: options.links } : {}),
    images: {
      baseTag: 'localhost/warren-agent:test',
      build: async (packages) => {
        builds.push(packages);
        return options.build ? options.build(packages) : `localhost/warren-agent-packages:${builds.length}`;
      },
    },
  });
  const chats = new Map<string, MessagingGroup>();
  const delivery = createDelivery({
    db,
    dataDir,
    channels,
    clock: () => now,
    log: pino({ level: 'silent' }),
    wake: (id) => woken.push(id),
    watchFiles: false,
    pollMs: 3_600_000,
    actions: combineActions(engine.actions),
    questions: engine.questions,
  });

  return {
    root,
    dataDir,
    groupsDir,
    db,
    engine,
    channels,
    delivery,
    text,
    rich,
    main,
    other,
    owner,
    globalAdmin,
    otherAdmin,
    outsider,
    replayed,
    metrics,
    woken,
    builds,
    now: () => now,
    advance(ms) {
      now = new Date(now.getTime() + ms);
    },
    session(agentGroup, where = { channel: 'rich', id: 'team' }) {
      const key = `${where.channel}:${where.id}`;
      let chat = chats.get(key);
      if (!chat) {
        chat =
          findMessagingGroup(db, where.channel, where.id) ??
          createMessagingGroup(db, { channelType: where.channel, platformId: where.id }, iso());
        chats.set(key, chat);
      }
      const { session, paths } = resolveSession(
        db,
        dataDir,
        { agentGroupId: agentGroup.id, messagingGroupId: chat.id, threadId: null },
        { channelType: where.channel, platformId: where.id, threadId: null },
        iso(),
      );
      return { id: session.id, paths };
    },
    said(session, from, body) {
      const [row] = insertMessagesIn(session.paths, [
        {
          kind: 'chat',
          timestamp: iso(),
          content: {
            text: body,
            sender: { id: `${from.channel}:${from.user.displayName!.toLowerCase()}`, userId: from.user.id },
          },
        },
      ]);
      return row!.id;
    },
    async agent(session, tool, args, inReplyTo) {
      const address = db
        .prepare(
          'SELECT m.channel_type AS channelType, m.platform_id AS platformId FROM sessions s JOIN messaging_groups m ON m.id = s.messaging_group_id WHERE s.id = ?',
        )
        .get(session.id) as { channelType: string; platformId: string };
      try {
        return await callAgentTool(
          {
            sessionId: session.id,
            paths: session.paths,
            clock: () => now,
            workspace: groupsDir,
            address: { ...address, threadId: null },
            inReplyTo,
          },
          tool,
          args,
        );
      } finally {
        await delivery.deliverSession(session.id);
      }
    },
    inbound(from, body, opts = {}) {
      const id = `in-${++messages}`;
      return {
        channelType: from.channel,
        installation: '',
        platformMessageId: id,
        chat: { id: opts.chat ?? from.dm, isGroup: false },
        sender: { id: from.user.displayName!.toLowerCase(), name: from.user.displayName! },
        threadId: null,
        text: opts.action ?? body,
        attachments: [],
        mentioned: true,
        timestamp: iso(),
        ...(opts.action ? { action: { value: opts.action } } : {}),
      };
    },
    close() {
      void delivery.stop();
      db.close();
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** The admin API over a world: its database, clock and approvals engine; no channels, an engine that answers. */
export function adminApiOf(
  w: World,
  overrides: Partial<AdminApiDeps> = {},
): ReturnType<typeof createAdminApi> {
  return createAdminApi({
    db: w.db,
    clock: w.now,
    dataDir: w.dataDir,
    approvals: w.engine,
    channelHealth: () => ({}),
    engineProblem: async () => null,
    hasSecret: () => false,
    log: pino({ level: 'silent' }),
    ...overrides,
  });
}
