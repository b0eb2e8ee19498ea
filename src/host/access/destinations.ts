// Where an agent may address a message or a question: a row's address is written by the container,
// so it is checked here before anything is sent (DESIGN §10).
import type { Db } from '../../db/connection.ts';
import { listDestinations } from '../../db/destinations.ts';
import { findMessagingGroup, getMessagingGroup } from '../../db/messaging-groups.ts';
import type { Session } from '../../db/sessions.ts';
import { listWiringsForMessagingGroup } from '../../db/wirings.ts';

export interface ChatAddress {
  channelType: string;
  platformId: string;
}

/** Its own chat is always allowed; anything else must be one of the agent group's destinations. */
export function isDestinationAllowed(db: Db, session: Session, address: ChatAddress): boolean {
  const own = session.messagingGroupId ? getMessagingGroup(db, session.messagingGroupId) : undefined;
  if (own && own.channelType === address.channelType && own.platformId === address.platformId) return true;
  if (!session.messagingGroupId && isAgentSharedChat(db, session.agentGroupId, address)) return true;
  return listDestinations(db, session.agentGroupId).some(
    (d) =>
      d.kind === 'channel' && d.channelType === address.channelType && d.platformId === address.platformId,
  );
}

/** An agent-shared session has no chat of its own: it serves every chat wired to it in that mode. */
function isAgentSharedChat(db: Db, agentGroupId: string, address: ChatAddress): boolean {
  const chat = findMessagingGroup(db, address.channelType, address.platformId);
  return (
    !!chat &&
    listWiringsForMessagingGroup(db, chat.id).some(
      (w) => w.agentGroupId === agentGroupId && w.sessionMode === 'agent-shared',
    )
  );
}
