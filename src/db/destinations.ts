// An agent group's named destinations: both where its messages can be routed and the list of
// places it is allowed to send to.
import { z } from 'zod';
import type { Db } from './connection.ts';

interface DestinationBase {
  agentGroupId: string;
  name: string;
  createdAt: string;
}

export type AgentDestination =
  | (DestinationBase & { kind: 'channel'; messagingGroupId: string; channelType: string; platformId: string })
  | (DestinationBase & { kind: 'agent'; targetAgentGroupId: string });

// The agent addresses destinations by this name, so keep it something a model types reliably.
const destinationName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9 _.-]{0,99}$/, 'use up to 100 letters, digits, spaces, _ . and -');

export function addChannelDestination(
  db: Db,
  agentGroupId: string,
  name: string,
  messagingGroupId: string,
  now: string,
): void {
  db.prepare(
    `INSERT INTO agent_destinations (agent_group_id, name, target_kind, messaging_group_id, created_at)
     VALUES (?, ?, 'channel', ?, ?)`,
  ).run(agentGroupId, destinationName.parse(name), messagingGroupId, now);
}

export function addAgentDestination(
  db: Db,
  agentGroupId: string,
  name: string,
  targetAgentGroupId: string,
  now: string,
): void {
  db.prepare(
    `INSERT INTO agent_destinations (agent_group_id, name, target_kind, target_agent_group_id, created_at)
     VALUES (?, ?, 'agent', ?, ?)`,
  ).run(agentGroupId, destinationName.parse(name), targetAgentGroupId, now);
}

interface Row {
  agentGroupId: string;
  name: string;
  kind: 'channel' | 'agent';
  messagingGroupId: string | null;
  channelType: string | null;
  platformId: string | null;
  targetAgentGroupId: string | null;
  createdAt: string;
}

/** Channel destinations come with the chat's address, as the session projection needs it. */
export function listDestinations(db: Db, agentGroupId: string): AgentDestination[] {
  const rows = db
    .prepare(
      `SELECT d.agent_group_id AS agentGroupId, d.name, d.target_kind AS kind, d.messaging_group_id AS messagingGroupId,
         m.channel_type AS channelType, m.platform_id AS platformId, d.target_agent_group_id AS targetAgentGroupId,
         d.created_at AS createdAt
       FROM agent_destinations d LEFT JOIN messaging_groups m ON m.id = d.messaging_group_id
       WHERE d.agent_group_id = ? ORDER BY d.name`,
    )
    .all(agentGroupId) as Row[];
  return rows.map(toDestination);
}

export function removeDestination(db: Db, agentGroupId: string, name: string): boolean {
  return (
    db.prepare('DELETE FROM agent_destinations WHERE agent_group_id = ? AND name = ?').run(agentGroupId, name)
      .changes === 1
  );
}

function toDestination(r: Row): AgentDestination {
  const base = { agentGroupId: r.agentGroupId, name: r.name, createdAt: r.createdAt };
  // The table's CHECK guarantees the columns of each kind are set, and the foreign key the chat.
  return r.kind === 'channel'
    ? {
        ...base,
        kind: 'channel',
        messagingGroupId: r.messagingGroupId!,
        channelType: r.channelType!,
        platformId: r.platformId!,
      }
    : { ...base, kind: 'agent', targetAgentGroupId: r.targetAgentGroupId! };
}
