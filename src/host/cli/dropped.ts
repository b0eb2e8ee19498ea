// `warren dropped`: messages that were not routed, newest first, counted per (chat, sender, reason):
// unknown senders, suspended users, unwired chats, and agent-to-agent messages refused by their caps.
import { listDroppedMessages } from '../../db/dropped-messages.ts';
import { withCentralDb } from './central-db.ts';
import type { CommandIo } from './users.ts';
import { renderTable } from './table.ts';

export function runDroppedCommand(
  io: Pick<CommandIo, 'config' | 'json' | 'write' | 'fail'>,
): Promise<number> {
  return withCentralDb({ name: 'dropped', sub: undefined }, io, (db) => {
    const rows = listDroppedMessages(db, 200);
    if (io.json) io.write(`${JSON.stringify(rows, null, 2)}\n`);
    else if (rows.length === 0) io.write('nothing was dropped\n');
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
    return 0;
  });
}
