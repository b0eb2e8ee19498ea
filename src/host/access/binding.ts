// Binding codes: a person proves that two platform accounts are theirs. From an account Warren
// knows, `/link` asks for a code (answered in a direct chat only: anyone who sees a code can use
// it); from the other account, `/link CODE` moves that account to the same user. The operator can
// also make a code with `warren users bind-code USER`. Such control messages never reach an agent.
import type { Db } from '../../db/connection.ts';
import type { MessagingGroup } from '../../db/messaging-groups.ts';
import { consumeBindingCode, createBindingCode } from '../../db/tokens.ts';
import { getUserDm } from '../../db/user-dms.ts';
import { getMessagingGroup } from '../../db/messaging-groups.ts';
import { getUser, setUserStatus, type User } from '../../db/users.ts';
import { hasNoAccounts, linkAccount, type Account } from './identity.ts';
import { mergeUsers } from './merge.ts';

export type ControlCommand = { kind: 'link_request' } | { kind: 'link_code'; code: string };

// `/link`, `/link ABCDE-FGHJK`; Telegram appends the bot's name in groups (`/link@warren_bot`).
const LINK = /^\/link(?:@\S+)?(?:\s+(\S.*?))?\s*$/i;

/** Pure: the control command a message's text is, or null for an ordinary message. */
export function parseControl(text: string): ControlCommand | null {
  const match = LINK.exec(text.trim());
  if (!match) return null;
  return match[1] ? { kind: 'link_code', code: match[1] } : { kind: 'link_request' };
}

/** Where a control answer goes: the chat the command came from, or the user's DM on that channel. */
export interface ControlReply {
  to: { channelType: string; chatId: string; threadId: string | null };
  text: string;
}

export interface ControlResult {
  outcome:
    | 'code_issued'
    | 'code_refused_in_group'
    | 'linked'
    | 'already_linked'
    | 'code_invalid'
    | 'refused_suspended'
    /** Asked in web chat, where a code could be read by others (the router answers it). */
    | 'refused_web_chat';
  reply: ControlReply;
  /** The user the account belongs to afterwards. */
  userId: string;
}

export interface ControlContext {
  db: Db;
  now: Date;
  /** How long a code is valid (at most 15 minutes; src/db/tokens.ts enforces it). */
  codeTtlMs: number;
  chat: MessagingGroup;
  account: Account;
  threadId: string | null;
  sender: User;
}

/** Applies a control command from `sender` (the user behind `account`) and says what to answer. */
export function applyControl(command: ControlCommand, ctx: ControlContext): ControlResult {
  const here = { channelType: ctx.chat.channelType, chatId: ctx.chat.platformId, threadId: ctx.threadId };
  const answer = (
    outcome: ControlResult['outcome'],
    text: string,
    userId = ctx.sender.id,
  ): ControlResult => ({
    outcome,
    reply: { to: here, text },
    userId,
  });
  if (ctx.sender.status === 'suspended') {
    return answer('refused_suspended', 'This account is suspended; it cannot link accounts.');
  }
  return command.kind === 'link_request' ? issue(ctx, answer) : redeem(command.code, ctx, answer);
}

type Answer = (outcome: ControlResult['outcome'], text: string, userId?: string) => ControlResult;

function issue(ctx: ControlContext, answer: Answer): ControlResult {
  // In a group, everyone would read the code and could link their own account to this user.
  const dm = ctx.chat.isGroup ? directChatOf(ctx.db, ctx.sender.id, ctx.chat.channelType) : ctx.chat;
  if (!dm) {
    return answer(
      'code_refused_in_group',
      'Send /link to me in a direct message: a code shown here could be used by anyone in this chat.',
    );
  }
  const { code, expiresAt } = createBindingCode(ctx.db, ctx.sender.id, ctx.now.toISOString(), ctx.codeTtlMs);
  const minutes = Math.round(ctx.codeTtlMs / 60_000);
  const text =
    `Your link code is ${code}. From the other account you want to use with me, send: /link ${code}\n` +
    `It works once, until ${expiresAt} (${minutes} min). If you did not ask for it, ignore it.`;
  const result = answer('code_issued', text);
  return dm.id === ctx.chat.id
    ? result
    : {
        ...result,
        reply: { to: { channelType: dm.channelType, chatId: dm.platformId, threadId: null }, text },
      };
}

function redeem(code: string, ctx: ControlContext, answer: Answer): ControlResult {
  const now = ctx.now.toISOString();
  const by = `${ctx.account.kind}:${ctx.account.externalId}`;
  const owner = consumeBindingCode(ctx.db, code, by, now);
  const target = owner ? getUser(ctx.db, owner) : undefined;
  if (!target || target.mergedInto) {
    return answer(
      'code_invalid',
      'That code is not valid: it was already used, has expired, or was mistyped. Ask for a new one with /link.',
    );
  }
  if (target.status === 'suspended') return answer('refused_suspended', 'That account is suspended.');
  if (target.id === ctx.sender.id) return answer('already_linked', 'This account is already linked to you.');
  const actor = `binding:${by}`;
  ctx.db
    .transaction(() => {
      const moved = linkAccount(ctx.db, target.id, ctx.account, { actor, now, move: true });
      // A first contact made a user for this account alone: it is the same person, so it merges.
      if (moved.status === 'moved' && hasNoAccounts(ctx.db, moved.fromUserId))
        mergeUsers(ctx.db, moved.fromUserId, target.id, actor, now);
      if (target.status === 'invited') setUserStatus(ctx.db, target.id, 'active', actor, now);
    })
    .immediate();
  const name = target.displayName ? ` (${target.displayName})` : '';
  return answer(
    'linked',
    `Linked: this ${ctx.account.kind} account now belongs to user ${target.id}${name}.`,
    target.id,
  );
}

function directChatOf(db: Db, userId: string, channelType: string): MessagingGroup | undefined {
  const dm = getUserDm(db, userId, channelType);
  return dm && getMessagingGroup(db, dm.messagingGroupId);
}
