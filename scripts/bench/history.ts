// A chat with a long past: its session files already hold many answered and delivered exchanges
// (as a busy group chat does within the 7-day retention), written before the host starts.
import Database from 'better-sqlite3';
import { getAgentGroupByFolder } from '../../src/db/agent-groups.ts';
import { createMessagingGroup } from '../../src/db/messaging-groups.ts';
import { createWiring } from '../../src/db/wirings.ts';
import { DEFAULT_GROUP_FOLDER, initDataFolder } from '../../src/host/data-folder.ts';
import { resolveSession } from '../../src/host/sessions/resolve.ts';
import { benchConfig } from './host.ts';

/** Creates the chat `chat` wired to main, its session, and `exchanges` past message/reply pairs. */
export async function seedLongHistory(
  dataDir: string,
  groupsDir: string,
  chat: string,
  exchanges: number,
): Promise<void> {
  const { db } = await initDataFolder(
    benchConfig({ dataDir, groupsDir, maxContainers: 1 }),
    () => new Date(),
  );
  let paths;
  try {
    const now = new Date().toISOString();
    const group = getAgentGroupByFolder(db, DEFAULT_GROUP_FOLDER)!;
    const messagingGroup = createMessagingGroup(
      db,
      { channelType: 'webchat', platformId: chat, isGroup: false, unknownSenderPolicy: 'public' },
      now,
    );
    createWiring(db, { messagingGroupId: messagingGroup.id, agentGroupId: group.id }, now);
    const key = { agentGroupId: group.id, messagingGroupId: messagingGroup.id, threadId: null };
    const routing = { channelType: 'webchat', platformId: chat, threadId: null };
    paths = resolveSession(db, dataDir, key, routing, now).paths;
  } finally {
    db.close();
  }
  // No runner exists yet, so writing outbound.db here breaks no one-writer rule.
  const inbound = new Database(paths.inbound);
  const outbound = new Database(paths.outbound);
  try {
    const started = Date.now() - exchanges * 60_000;
    const at = (i: number) => new Date(started + i * 60_000).toISOString();
    const insertIn = inbound.prepare(`INSERT INTO messages_in
      (id, seq, kind, timestamp, status, tries, trigger, platform_id, channel_type, content)
      VALUES (?, ?, 'chat', ?, 'completed', 0, 1, ?, 'webchat', ?)`);
    const insertDelivered = inbound.prepare(
      "INSERT INTO delivered (message_out_id, platform_message_id, status, delivered_at) VALUES (?, ?, 'delivered', ?)",
    );
    const insertOut = outbound.prepare(`INSERT INTO messages_out
      (id, seq, in_reply_to, timestamp, kind, platform_id, channel_type, content)
      VALUES (?, ?, ?, ?, 'chat', ?, 'webchat', ?)`);
    const insertAck = outbound.prepare(
      "INSERT INTO processing_ack (message_id, status, status_changed) VALUES (?, 'completed', ?)",
    );
    inbound.transaction(() => {
      for (let i = 0; i < exchanges; i++) {
        const content = { text: `old message ${i}`, sender: { id: 'webchat:bench', name: 'Bench' } };
        insertIn.run(`in_old_${i}`, 2 * i + 2, at(i), chat, JSON.stringify(content));
        insertDelivered.run(`out_old_${i}`, `old-${i}`, at(i));
      }
    })();
    outbound.transaction(() => {
      for (let i = 0; i < exchanges; i++) {
        const content = { op: 'send', text: `echo: old message ${i}`, files: [] };
        insertOut.run(`out_old_${i}`, 2 * i + 3, `in_old_${i}`, at(i), chat, JSON.stringify(content));
        insertAck.run(`in_old_${i}`, at(i));
      }
    })();
  } finally {
    inbound.close();
    outbound.close();
  }
}
