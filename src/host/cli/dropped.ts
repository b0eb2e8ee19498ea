// `warren dropped`: messages that were not routed, newest first, counted per (chat, sender, reason):
// unknown senders, suspended users, unwired chats, and agent-to-agent messages refused by their caps;
// then the sessions the host closed because their container wrote something unsafe (DESIGN §10).
import { listDroppedMessages } from '../../db/dropped-messages.ts';
import { listClosedWithReason } from '../../db/sessions.ts';
import { withCentralDb } from './central-db.ts';
import type { CommandIo } from './users.ts';
import { renderTable } from './table.ts';

export const DROPPED_HELP = `warren dropped [--json]
messages that were not routed, newest first, counted per chat, sender and reason (unknown senders,
suspended users, unwired chats, caps on agent messages); then the sessions closed as unsafe.
`;

export function runDroppedCommand(
  io: Pick<CommandIo, 'config' | 'json' | 'write' | 'fail'>,
): Promise<number> {
  return withCentralDb({ name: 'dropped', sub: undefined }, io, (db) => {
    const rows = listDroppedMessages(db, 200);
    const unsafe = listClosedWithReason(db, 50);
    if (io.json) {
      io.write(`${JSON.stringify({ messages: rows, closedSessions: unsafe }, null, 2)}\n`);
      return 0;
    }
    if (rows.length === 0) io.write('nothing was dropped\n');
    else
      io.write(
        renderTable(
          ['LAST', 'REASON', 'COUNT', 'CHANNEL', 'CHAT', 'SENDER', 'LAST MESSAGE'],
          rows.map((r) => [
            r.lastAt,
            r.reason,
            String(r.count),
            r.channelType,
            r.chatId,
            r.senderId,
            r.lastMessageId ?? '',
          ]),
        ),
      );
    if (unsafe.length > 0) {
      io.write('\nsessions closed by the host (their chats get a new session):\n');
      io.write(
        renderTable(
          ['CLOSED', 'SESSION', 'AGENT GROUP', 'REASON'],
          unsafe.map((s) => [s.closedAt ?? '', s.id, s.agentGroupId, s.closedReason ?? '']),
        ),
      );
    }
    return 0;
  });
}
