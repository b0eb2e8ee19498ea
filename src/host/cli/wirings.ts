// `warren wire|unwire|wirings`: which agent group answers in which chat, and how (docs/access.md). The
// checks and the change itself are src/host/wirings.ts, shared with the admin API; this file turns
// flags into a request and the outcome into lines.
import type { Db } from '../../db/connection.ts';
import {
  ENGAGE_MODES,
  IGNORED_MESSAGE_POLICIES,
  SENDER_SCOPES,
  SESSION_MODES,
  UNKNOWN_SENDER_POLICIES,
} from '../../db/enums.ts';
import type { Config } from '../config.ts';
import {
  findChatWiring,
  listWiringViews,
  unwire,
  wireChat,
  wireRequest,
  type WireRequest,
  type WiringRefusal,
} from '../wirings.ts';
import { withCentralDb } from './central-db.ts';
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

/** The flags as a wiring request, or what is wrong with them (named by flag). */
function requestOf(io: WiringIo, chat: string, group: string): WireRequest | string {
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
  if (io.groupChat && io.dm) return 'give --group-chat or --dm, not both';
  const request = wireRequest.safeParse({
    chat,
    group,
    engage: io.engage,
    pattern: io.pattern,
    sessionMode: io.sessionMode,
    senderScope: io.senderScope,
    ignored: io.ignored,
    unknownSenders: io.unknownSenders,
    groupChat: io.groupChat ? true : io.dm ? false : undefined,
  });
  return request.success ? request.data : (request.error.issues[0]?.message ?? 'bad request');
}

export function runWireCommand(io: WiringIo): Promise<number> {
  return withCentralDb({ name: 'wire', sub: undefined }, io, (db) => {
    const [chatText, groupName] = io.args;
    if (!chatText || !groupName || io.args.length > 2)
      return usage(io, 'wire', 'give the chat and the agent group: warren wire CHANNEL:CHAT_ID GROUP');
    const request = requestOf(io, chatText, groupName);
    if (typeof request === 'string') return usage(io, 'wire', request);
    const outcome = wireChat(db, request, io.actor, io.now);
    if (!outcome.ok) return refusal(io, 'wire', outcome);
    const w = outcome.wiring;
    io.write(`wired ${chatText} to ${w.agentGroup}: ${describe(w)}\n`);
    for (const note of outcome.notes) io.write(`${note}\n`);
    return 0;
  });
}

export function runUnwireCommand(io: WiringIo): Promise<number> {
  return withCentralDb({ name: 'unwire', sub: undefined }, io, (db) => {
    const [chatText, groupName] = io.args;
    if (!chatText || !groupName || io.args.length > 2)
      return usage(io, 'unwire', 'give the chat and the agent group: warren unwire CHANNEL:CHAT_ID GROUP');
    const wiring = findChatWiring(db, chatText, groupName);
    if ('ok' in wiring) return refusal(io, 'unwire', wiring);
    const outcome = unwire(db, wiring.id, io.actor, io.now);
    if (!outcome.ok) return refusal(io, 'unwire', outcome);
    const group = outcome.wiring.agentGroup;
    io.write(`unwired ${chatText} from ${group}: its next message does not reach ${group}\n`);
    if (outcome.openSessions.length > 0)
      io.write(
        `its sessions stay active (with their scheduled tasks): ${outcome.openSessions.join(', ')}; ` +
          'warren sessions stop ID ends one\n',
      );
    return 0;
  });
}

export function runWiringsCommand(io: WiringIo): Promise<number> {
  return withCentralDb({ name: 'wirings', sub: undefined }, io, (db: Db) => {
    if (io.args.length > 0) return usage(io, 'wirings', `unexpected "${io.args[0]}"`);
    const rows = listWiringViews(db);
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

function describe(w: ReturnType<typeof listWiringViews>[number]): string {
  const engage = w.engageMode === 'pattern' ? `pattern /${w.engagePattern}/` : w.engageMode;
  return (
    `engage ${engage}, session mode ${w.sessionMode}, unknown senders ${w.unknownSenders}, ` +
    `senders ${w.senderScope}, ignored messages ${w.ignoredMessages}`
  );
}

/** Bad input is a usage error (exit 2, with the flag to use); the rest are refusals (exit 1). */
function refusal(io: WiringIo, command: 'wire' | 'unwire', r: WiringRefusal): number {
  if (r.reason === 'invalid')
    return usage(io, command, r.field === 'groupChat' ? `${r.error} (--group-chat or --dm)` : r.error);
  io.fail(`warren ${command}: ${r.error}\n`);
  return 1;
}

function usage(io: WiringIo, command: string, problem: string): number {
  io.fail(`warren ${command}: ${problem}\n`);
  return 2;
}
