// Wiring changes: which agent group answers in which chat, and how (docs/access.md). One place for
// the checks, the transaction and the audit row, shared by `warren wire|unwire|wirings` and the admin
// API (/api/wirings). The router reads a chat's wirings for every message, so a change applies to the
// chat's next message, whether or not the host runs.
import { z } from 'zod';
import {
  getAgentGroup,
  getAgentGroupByFolder,
  listAgentGroups,
  type AgentGroup,
} from '../db/agent-groups.ts';
import { appendAuditEvent } from '../db/audit.ts';
import { listChannelInstallations } from '../db/channel-installations.ts';
import type { Db } from '../db/connection.ts';
import {
  ENGAGE_MODES,
  IGNORED_MESSAGE_POLICIES,
  SENDER_SCOPES,
  SESSION_MODES,
  UNKNOWN_SENDER_POLICIES,
} from '../db/enums.ts';
import {
  allowMessagingGroup,
  createMessagingGroup,
  findMessagingGroup,
  getMessagingGroup,
  setUnknownSenderPolicy,
  type MessagingGroup,
} from '../db/messaging-groups.ts';
import { listActiveSessions } from '../db/sessions.ts';
import {
  createWiring,
  deleteWiring,
  findWiring,
  getWiring,
  listWirings,
  type Wiring,
} from '../db/wirings.ts';
import { channelTypeOf } from './channels/index.ts';

/** Chats of these channels exist without an installation: the web chat and `warren chat`. */
const BUILT_IN_CHANNELS = ['webchat', 'cli'];

/** What a wiring asks for; field names are the API's, the CLI's flags are the same words. */
export const wireRequest = z.strictObject({
  chat: z.string().min(3).max(300),
  group: z.string().min(1).max(200),
  engage: z.enum(ENGAGE_MODES).optional(),
  pattern: z.string().min(1).max(500).optional(),
  sessionMode: z.enum(SESSION_MODES).optional(),
  senderScope: z.enum(SENDER_SCOPES).optional(),
  ignored: z.enum(IGNORED_MESSAGE_POLICIES).optional(),
  unknownSenders: z.enum(UNKNOWN_SENDER_POLICIES).optional(),
  /** Whether a new chat is a group chat, where its id does not tell (Discord). */
  groupChat: z.boolean().optional(),
});
export type WireRequest = z.infer<typeof wireRequest>;

/** Why a change was not made: bad input names its field; the rest say what is in the way. */
export type WiringRefusal =
  | { ok: false; reason: 'invalid'; field: keyof WireRequest; error: string }
  | { ok: false; reason: 'not_found' | 'conflict'; error: string };

export type WiringView = {
  id: string;
  chat: string;
  chatName: string | null;
  isGroup: boolean;
  agentGroup: string;
  engageMode: Wiring['engageMode'];
  engagePattern: string | null;
  sessionMode: Wiring['sessionMode'];
  unknownSenders: MessagingGroup['unknownSenderPolicy'];
  senderScope: Wiring['senderScope'];
  ignoredMessages: Wiring['ignoredMessagePolicy'];
  priority: number;
  denied: boolean;
  createdAt: string;
};

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

/** An agent group by folder or name. */
export function findGroup(db: Db, name: string): AgentGroup | undefined {
  return getAgentGroupByFolder(db, name) ?? listAgentGroups(db).find((g) => g.name === name);
}

/**
 * Wires the chat (created when missing) to the group: the checks, then the chat, its wiring and the
 * audit row in one transaction. `notes` say what else changed or what the operator should know.
 */
export function wireChat(
  db: Db,
  request: WireRequest,
  actor: string,
  now: Date,
): { ok: true; wiring: WiringView; notes: string[] } | WiringRefusal {
  const chat = parseChat(request.chat);
  if (typeof chat === 'string') return invalid('chat', chat);
  if ((request.engage === 'pattern') !== (request.pattern !== undefined))
    return invalid(
      'pattern',
      request.pattern === undefined
        ? "engage pattern needs a pattern (the pattern '^' engages every message)"
        : 'a pattern goes with engage pattern',
    );
  if (request.pattern !== undefined && !isRegExp(request.pattern))
    return invalid('pattern', `"${request.pattern}" is not a valid regular expression`);
  const group = findGroup(db, request.group);
  if (!group) return { ok: false, reason: 'not_found', error: noGroup(request.group) };
  const existing = findMessagingGroup(db, chat.channelType, chat.platformId);
  if (!existing) {
    const unknownChannel = checkChannel(db, chat.channelType);
    if (unknownChannel) return { ok: false, reason: 'not_found', error: unknownChannel };
  }
  const isGroup = chatKind(chat, existing, request.groupChat);
  if (typeof isGroup === 'string') return invalid('groupChat', isGroup);
  const wired = existing && findWiring(db, existing.id, group.id);
  if (wired)
    return {
      ok: false,
      reason: 'conflict',
      error:
        `${request.chat} is already wired to ${group.folder} (${describeWiring(wired, existing)}); ` +
        'to change it, unwire it and wire it again',
    };
  return db.transaction(() => create(db, request, { ...chat, isGroup }, group, actor, now)).immediate();
}

function create(
  db: Db,
  request: WireRequest,
  chat: { channelType: string; platformId: string; isGroup: boolean },
  group: AgentGroup,
  actor: string,
  now: Date,
) {
  const at = now.toISOString();
  const notes: string[] = [];
  const policy = request.unknownSenders;
  let messagingGroup = findMessagingGroup(db, chat.channelType, chat.platformId);
  const created = !messagingGroup;
  const policyBefore = messagingGroup?.unknownSenderPolicy ?? null;
  if (!messagingGroup) {
    const builtIn = BUILT_IN_CHANNELS.includes(chat.channelType);
    messagingGroup = createMessagingGroup(
      db,
      { ...chat, unknownSenderPolicy: policy ?? (builtIn ? 'public' : 'strict') },
      at,
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
  const options = {
    engageMode: request.engage,
    engagePattern: request.pattern ?? null,
    sessionMode: request.sessionMode,
    senderScope: request.senderScope,
    ignoredMessagePolicy: request.ignored,
  };
  const wiring = createWiring(
    db,
    { messagingGroupId: messagingGroup.id, agentGroupId: group.id, ...definedOnly(options) },
    at,
  );
  if (messagingGroup.unknownSenderPolicy === 'strict')
    notes.push(
      `only people ${group.folder} knows are answered: warren roles grant USER member --group ${group.folder}`,
    );
  const view = wiringView(wiring, messagingGroup, group);
  appendAuditEvent(
    db,
    {
      actor,
      action: 'wiring.created',
      targetKind: 'wiring',
      targetId: wiring.id,
      detail: { ...view, chatCreated: created, policyBefore, denialLifted },
    },
    at,
  );
  return { ok: true as const, wiring: view, notes };
}

/**
 * Removes one wiring (by id) and writes the audit row. `openSessions` are the chat's sessions with
 * that group, which stay active: ending them is `sessions stop`.
 */
export function unwire(
  db: Db,
  wiringId: string,
  actor: string,
  now: Date,
): { ok: true; wiring: WiringView; openSessions: string[] } | WiringRefusal {
  const wiring = getWiring(db, wiringId);
  if (!wiring) return { ok: false, reason: 'not_found', error: `there is no wiring ${wiringId}` };
  const chat = getMessagingGroup(db, wiring.messagingGroupId)!;
  const group = getAgentGroup(db, wiring.agentGroupId)!;
  const view = wiringView(wiring, chat, group);
  db.transaction(() => {
    deleteWiring(db, wiring.id);
    appendAuditEvent(
      db,
      { actor, action: 'wiring.deleted', targetKind: 'wiring', targetId: wiring.id, detail: view },
      now.toISOString(),
    );
  }).immediate();
  const openSessions = listActiveSessions(db)
    .filter((s) => s.agentGroupId === group.id && s.messagingGroupId === chat.id)
    .map((s) => s.id);
  return { ok: true, wiring: view, openSessions };
}

/** The wiring of CHAT to GROUP, for `warren unwire CHAT GROUP`. */
export function findChatWiring(db: Db, chatText: string, groupName: string): Wiring | WiringRefusal {
  const chat = parseChat(chatText);
  if (typeof chat === 'string') return invalid('chat', chat);
  const group = findGroup(db, groupName);
  if (!group) return { ok: false, reason: 'not_found', error: noGroup(groupName) };
  const messagingGroup = findMessagingGroup(db, chat.channelType, chat.platformId);
  const wiring = messagingGroup && findWiring(db, messagingGroup.id, group.id);
  if (!wiring)
    return {
      ok: false,
      reason: 'not_found',
      error: `${chatText} is not wired to ${group.folder} (warren wirings lists them)`,
    };
  return wiring;
}

/** Every wiring, oldest first. */
export function listWiringViews(db: Db): WiringView[] {
  const groups = new Map(listAgentGroups(db).map((g) => [g.id, g]));
  return listWirings(db).map((w) =>
    wiringView(w, getMessagingGroup(db, w.messagingGroupId)!, groups.get(w.agentGroupId)!),
  );
}

export function wiringView(w: Wiring, chat: MessagingGroup, group: AgentGroup): WiringView {
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

export function describeWiring(w: Wiring, chat: MessagingGroup): string {
  const engage = w.engageMode === 'pattern' ? `pattern /${w.engagePattern}/` : w.engageMode;
  return (
    `engage ${engage}, session mode ${w.sessionMode}, unknown senders ${chat.unknownSenderPolicy}, ` +
    `senders ${w.senderScope}, ignored messages ${w.ignoredMessagePolicy}`
  );
}

const invalid = (field: keyof WireRequest, error: string): WiringRefusal => ({
  ok: false,
  reason: 'invalid',
  field,
  error,
});

const noGroup = (name: string) => `no agent group "${name}" (warren groups list shows them)`;

/** A chat of a channel nobody installed would never hear a message: most likely a typo. */
function checkChannel(db: Db, channelType: string): string | undefined {
  const known = [...BUILT_IN_CHANNELS, ...listChannelInstallations(db).map(channelTypeOf)];
  if (known.includes(channelType)) return undefined;
  return `there is no channel "${channelType}" (channels: ${known.join(', ')}; warren channels add adds one)`;
}

/** Whether the chat is a group chat: as recorded, as its id tells, or as the operator says. */
function chatKind(
  chat: { channelType: string; platformId: string },
  existing: MessagingGroup | undefined,
  said: boolean | undefined,
): boolean | string {
  const known = existing?.isGroup ?? groupChatFromId(chat.channelType, chat.platformId);
  const kind = (g: boolean) => (g ? 'a group chat' : 'a direct chat');
  if (known !== undefined && said !== undefined && said !== known)
    return `${chat.channelType}:${chat.platformId} is ${kind(known)}, not ${kind(said)}`;
  const isGroup = known ?? said;
  if (isGroup === undefined)
    return (
      `say whether ${chat.channelType}:${chat.platformId} is a group chat or a direct chat ` +
      '(approval cards and /link codes go to direct chats)'
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
