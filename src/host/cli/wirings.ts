// `warren wire|unwire|wirings`: which agent group answers in which chat, and how (docs/access.md). The
// router reads a chat's wirings for every message, so a change applies to the chat's next message,
// whether or not the host runs.
import { getAgentGroup, listAgentGroups, type AgentGroup } from '../../db/agent-groups.ts';
import { appendAuditEvent } from '../../db/audit.ts';
import { listChannelInstallations } from '../../db/channel-installations.ts';
import type { Db } from '../../db/connection.ts';
import {
  ENGAGE_MODES,
  IGNORED_MESSAGE_POLICIES,
  SENDER_SCOPES,
  SESSION_MODES,
  UNKNOWN_SENDER_POLICIES,
  type UnknownSenderPolicy,
} from '../../db/enums.ts';
import {
  allowMessagingGroup,
  createMessagingGroup,
  findMessagingGroup,
  getMessagingGroup,
  setUnknownSenderPolicy,
  type MessagingGroup,
} from '../../db/messaging-groups.ts';
import { listActiveSessions } from '../../db/sessions.ts';
import { createWiring, deleteWiring, findWiring, listWirings, type Wiring } from '../../db/wirings.ts';
import { channelTypeOf } from '../channels/index.ts';
import type { Config } from '../config.ts';
import { withCentralDb } from './central-db.ts';
import { resolveGroup } from './groups.ts';
import { renderTable } from './table.ts';

const USAGE = {
  wire: 'warren wire CHAT GROUP [options]   agent group GROUP answers in chat CHAT',
  unwire: 'warren unwire CHAT GROUP           it stops answering there',
  wirings:
    'warren wirings [--json]            every wiring: chat, group, engage mode, session mode, unknown senders',
};

/** The help of `wire`, `unwire` or `wirings`: its own usage first, then its siblings' and the details. */
export function wiringHelp(command: keyof typeof USAGE): string {
  const others = Object.entries(USAGE).filter(([name]) => name !== command);
  return [USAGE[command], ...others.map(([, line]) => line), WIRING_DETAILS].join('\n');
}

const WIRING_DETAILS = `CHAT is CHANNEL:CHAT_ID, the chat's id on its platform: telegram:-1001234567890, slack:C0123ABC,
  discord:112233445566, webchat:lobby, cli:terminal. A chat Warren has not seen yet is created.
GROUP is an agent group's folder (e.g. main) or name (warren groups list).
A change applies to the chat's next message, whether or not the host runs.

options (wire):
  --engage MODE          which messages start a turn:
                           mention (default): a mention of the bot, a reply to it, any message in a DM
                           mention-sticky: a mention, then every message while the chat has an active session
                           pattern: a message matching --pattern (--pattern '^': every message)
  --pattern REGEX        with --engage pattern; case-insensitive
  --session-mode MODE    shared (default: one session per chat), per-thread (one per thread),
                         agent-shared (one session for every chat of the group wired so)
  --sender-scope SCOPE   all (default), or known: only the group's members and admins are answered
  --ignored POLICY       drop (default), or accumulate: messages that start no turn are kept as context
  --unknown-senders P    the chat's policy for senders the group does not know: strict, request_approval
                         or public (docs/access.md); it applies to every wiring of the chat. A new chat
                         is strict, or public on webchat and cli.
  --group-chat | --dm    whether a new chat is a group chat or a direct chat, where its id does not tell
                         (telegram, slack, webchat and cli ids tell; discord ids do not)
`;

export interface WiringIo {
  config: Config;
  args: string[];
  engage?: string;
  pattern?: string;
  sessionMode?: string;
  senderScope?: string;
  ignored?: string;
  unknownSenders?: string;
  groupChat: boolean;
  dm: boolean;
  json: boolean;
  now: Date;
  actor: string;
  write: (text: string) => void;
  fail: (text: string) => void;
}

/** Chats of these channels exist without an installation: the web chat and `warren chat`. */
const BUILT_IN_CHANNELS = ['webchat', 'cli'];

/** `telegram:-100123` → its channel and chat id, or what is wrong with it. */
export function parseChat(text: string): { channelType: string; platformId: string } | string {
  const at = text.indexOf(':');
  if (at < 1 || at === text.length - 1)
    return `a chat is CHANNEL:CHAT_ID (e.g. telegram:-1001234567890 or webchat:lobby), got "${text}"`;
  return { channelType: text.slice(0, at), platformId: text.slice(at + 1) };
}

/**
 * Whether a chat is a group chat, from what its id says on its platform: Telegram groups have
 * negative ids, Slack DMs start with D, web chat and terminal chats are one person's. Undefined
 * where the id does not tell (Discord).
 */
export function groupChatFromId(channelType: string, platformId: string): boolean | undefined {
  const platform = channelType.split('-')[0];
  if (platform === 'webchat' || platform === 'cli') return false;
  if (platform === 'telegram') return platformId.startsWith('-');
  if (platform === 'slack') return !platformId.startsWith('D');
  return undefined;
}

/** What `--engage` and friends ask for, checked against the wirings table's values. */
function wiringOptions(io: WiringIo) {
  const checks: [string, string | undefined, readonly string[]][] = [
    ['--engage', io.engage, ENGAGE_MODES],
    ['--session-mode', io.sessionMode, SESSION_MODES],
    ['--sender-scope', io.senderScope, SENDER_SCOPES],
    ['--ignored', io.ignored, IGNORED_MESSAGE_POLICIES],
    ['--unknown-senders', io.unknownSenders, UNKNOWN_SENDER_POLICIES],
  ];
  for (const [flag, value, allowed] of checks)
    if (value !== undefined && !allowed.includes(value))
      return `${flag} must be one of ${allowed.join(', ')}, got "${value}"`;
  if ((io.engage === 'pattern') !== (io.pattern !== undefined))
    return io.pattern === undefined
      ? "--engage pattern needs --pattern REGEX (--pattern '^' engages every message)"
      : '--pattern goes with --engage pattern';
  if (io.pattern !== undefined && !isRegExp(io.pattern))
    return `--pattern "${io.pattern}" is not a valid regular expression`;
  if (io.groupChat && io.dm) return 'give --group-chat or --dm, not both';
  return {
    engageMode: io.engage as Wiring['engageMode'] | undefined,
    engagePattern: io.pattern ?? null,
    sessionMode: io.sessionMode as Wiring['sessionMode'] | undefined,
    senderScope: io.senderScope as Wiring['senderScope'] | undefined,
    ignoredMessagePolicy: io.ignored as Wiring['ignoredMessagePolicy'] | undefined,
  };
}

export function runWireCommand(io: WiringIo): Promise<number> {
  return withCentralDb({ name: 'wire', sub: undefined }, io, (db) => {
    const [chatText, groupName] = io.args;
    if (!chatText || !groupName || io.args.length > 2)
      return usage(io, 'wire', 'give the chat and the agent group: warren wire CHANNEL:CHAT_ID GROUP');
    const chat = parseChat(chatText);
    if (typeof chat === 'string') return usage(io, 'wire', chat);
    const options = wiringOptions(io);
    if (typeof options === 'string') return usage(io, 'wire', options);
    const group = resolveGroup(db, groupName);
    const existing = findMessagingGroup(db, chat.channelType, chat.platformId);
    const unknownChannel = existing ? undefined : checkChannel(db, chat.channelType);
    if (unknownChannel) return refuse(io, 'wire', unknownChannel);
    const isGroup = chatKind(io, chat, existing);
    if (typeof isGroup === 'string') return usage(io, 'wire', isGroup);
    const wired = existing && findWiring(db, existing.id, group.id);
    if (wired)
      return refuse(
        io,
        'wire',
        `${chatText} is already wired to ${group.folder} (${describeWiring(wired, existing)}); ` +
          `to change it: warren unwire ${chatText} ${group.folder}, then wire it again`,
      );
    const result = db.transaction(() => wire(db, io, { ...chat, isGroup }, group, options)).immediate();
    io.write(`wired ${chatText} to ${group.folder}: ${describeWiring(result.wiring, result.chat)}\n`);
    for (const note of result.notes) io.write(`${note}\n`);
    return 0;
  });
}

/** The chat (created when missing) and its wiring, and the audit row, in one transaction. */
function wire(
  db: Db,
  io: WiringIo,
  chat: { channelType: string; platformId: string; isGroup: boolean },
  group: AgentGroup,
  options: Exclude<ReturnType<typeof wiringOptions>, string>,
) {
  const now = io.now.toISOString();
  const notes: string[] = [];
  const policy = io.unknownSenders as UnknownSenderPolicy | undefined;
  let messagingGroup = findMessagingGroup(db, chat.channelType, chat.platformId);
  const created = !messagingGroup;
  const policyBefore = messagingGroup?.unknownSenderPolicy ?? null;
  if (!messagingGroup) {
    const builtIn = BUILT_IN_CHANNELS.includes(chat.channelType);
    messagingGroup = createMessagingGroup(
      db,
      { ...chat, unknownSenderPolicy: policy ?? (builtIn ? 'public' : 'strict') },
      now,
    );
    notes.push(`the chat was created (${chat.isGroup ? 'a group chat' : 'a direct chat'})`);
  } else if (policy && policy !== messagingGroup.unknownSenderPolicy) {
    setUnknownSenderPolicy(db, messagingGroup.id, policy);
    notes.push(
      `unknown senders in this chat: ${policy} (was ${policyBefore}), for every agent group wired to it`,
    );
  }
  const denialLifted = allowMessagingGroup(db, messagingGroup.id);
  if (denialLifted) notes.push('the chat had been denied; it is allowed again');
  messagingGroup = getMessagingGroup(db, messagingGroup.id)!;
  const wiring = createWiring(
    db,
    { messagingGroupId: messagingGroup.id, agentGroupId: group.id, ...definedOnly(options) },
    now,
  );
  if (messagingGroup.unknownSenderPolicy === 'strict')
    notes.push(
      `only people ${group.folder} knows are answered: warren roles grant USER member --group ${group.folder}`,
    );
  appendAuditEvent(
    db,
    {
      actor: io.actor,
      action: 'wiring.created',
      targetKind: 'wiring',
      targetId: wiring.id,
      detail: {
        ...viewOf(wiring, messagingGroup, group),
        chatCreated: created,
        policyBefore,
        denialLifted,
      },
    },
    now,
  );
  return { wiring, chat: messagingGroup, notes };
}

export function runUnwireCommand(io: WiringIo): Promise<number> {
  return withCentralDb({ name: 'unwire', sub: undefined }, io, (db) => {
    const [chatText, groupName] = io.args;
    if (!chatText || !groupName || io.args.length > 2)
      return usage(io, 'unwire', 'give the chat and the agent group: warren unwire CHANNEL:CHAT_ID GROUP');
    const chat = parseChat(chatText);
    if (typeof chat === 'string') return usage(io, 'unwire', chat);
    const group = resolveGroup(db, groupName);
    const messagingGroup = findMessagingGroup(db, chat.channelType, chat.platformId);
    const wiring = messagingGroup && findWiring(db, messagingGroup.id, group.id);
    if (!messagingGroup || !wiring)
      return refuse(io, 'unwire', `${chatText} is not wired to ${group.folder} (warren wirings lists them)`);
    const now = io.now.toISOString();
    db.transaction(() => {
      deleteWiring(db, wiring.id);
      appendAuditEvent(
        db,
        {
          actor: io.actor,
          action: 'wiring.deleted',
          targetKind: 'wiring',
          targetId: wiring.id,
          detail: viewOf(wiring, messagingGroup, group),
        },
        now,
      );
    }).immediate();
    io.write(`unwired ${chatText} from ${group.folder}: its next message does not reach ${group.folder}\n`);
    const open = listActiveSessions(db).filter(
      (s) => s.agentGroupId === group.id && s.messagingGroupId === messagingGroup.id,
    );
    if (open.length > 0)
      io.write(
        `its sessions stay active (with their scheduled tasks): ${open.map((s) => s.id).join(', ')}; ` +
          'warren sessions stop ID ends one\n',
      );
    return 0;
  });
}

export function runWiringsCommand(io: WiringIo): Promise<number> {
  return withCentralDb({ name: 'wirings', sub: undefined }, io, (db) => {
    if (io.args.length > 0) return usage(io, 'wirings', `unexpected "${io.args[0]}"`);
    const groups = new Map(listAgentGroups(db).map((g) => [g.id, g]));
    const rows = listWirings(db).map((w) => {
      const chat = getMessagingGroup(db, w.messagingGroupId)!;
      return viewOf(w, chat, groups.get(w.agentGroupId) ?? getAgentGroup(db, w.agentGroupId)!);
    });
    if (io.json) io.write(`${JSON.stringify(rows, null, 2)}\n`);
    else if (rows.length === 0) io.write('no wirings (warren wire CHAT GROUP makes one)\n');
    else
      io.write(
        renderTable(
          ['CHAT', 'KIND', 'GROUP', 'ENGAGE', 'SESSION MODE', 'UNKNOWN SENDERS', 'SENDERS', 'IGNORED'],
          rows.map((r) => [
            r.chat,
            r.isGroup ? 'group' : 'direct',
            r.agentGroup,
            r.engageMode === 'pattern' ? `pattern /${r.engagePattern}/` : r.engageMode,
            r.sessionMode,
            r.unknownSenders + (r.denied ? ' (chat denied)' : ''),
            r.senderScope,
            r.ignoredMessages,
          ]),
        ),
      );
    return 0;
  });
}

/** One wiring as `warren wirings --json` shows it. */
function viewOf(w: Wiring, chat: MessagingGroup, group: AgentGroup) {
  return {
    id: w.id,
    chat: `${chat.channelType}:${chat.platformId}`,
    chatName: chat.name,
    isGroup: chat.isGroup,
    agentGroup: group.folder,
    engageMode: w.engageMode,
    engagePattern: w.engagePattern,
    sessionMode: w.sessionMode,
    unknownSenders: chat.unknownSenderPolicy,
    senderScope: w.senderScope,
    ignoredMessages: w.ignoredMessagePolicy,
    priority: w.priority,
    denied: chat.deniedAt !== null,
    createdAt: w.createdAt,
  };
}

function describeWiring(w: Wiring, chat: MessagingGroup): string {
  const engage = w.engageMode === 'pattern' ? `pattern /${w.engagePattern}/` : w.engageMode;
  return (
    `engage ${engage}, session mode ${w.sessionMode}, unknown senders ${chat.unknownSenderPolicy}, ` +
    `senders ${w.senderScope}, ignored messages ${w.ignoredMessagePolicy}`
  );
}

/** A chat of a channel nobody installed would never hear a message: most likely a typo. */
function checkChannel(db: Db, channelType: string): string | undefined {
  const known = [...BUILT_IN_CHANNELS, ...listChannelInstallations(db).map(channelTypeOf)];
  if (known.includes(channelType)) return undefined;
  return `there is no channel "${channelType}" (channels: ${known.join(', ')}; warren channels add adds one)`;
}

/** Whether the chat is a group chat: as recorded, as its id tells, or as the operator says. */
function chatKind(
  io: WiringIo,
  chat: { channelType: string; platformId: string },
  existing: MessagingGroup | undefined,
): boolean | string {
  const said = io.groupChat ? true : io.dm ? false : undefined;
  const known = existing?.isGroup ?? groupChatFromId(chat.channelType, chat.platformId);
  const kind = (g: boolean) => (g ? 'a group chat' : 'a direct chat');
  if (known !== undefined && said !== undefined && said !== known)
    return `${chat.channelType}:${chat.platformId} is ${kind(known)}, not ${kind(said)}`;
  const isGroup = known ?? said;
  if (isGroup === undefined)
    return (
      `say whether ${chat.channelType}:${chat.platformId} is a group chat (--group-chat) or a direct chat ` +
      '(--dm): approval cards and /link codes go to direct chats'
    );
  return isGroup;
}

function definedOnly<T extends object>(o: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as {
    [K in keyof T]?: Exclude<T[K], undefined>;
  };
}

function isRegExp(source: string): boolean {
  try {
    new RegExp(source);
    return source.length > 0;
  } catch {
    return false;
  }
}

function usage(io: WiringIo, command: string, problem: string): number {
  io.fail(`warren ${command}: ${problem}\n`);
  return 2;
}

function refuse(io: WiringIo, command: string, problem: string): number {
  io.fail(`warren ${command}: ${problem}\n`);
  return 1;
}
