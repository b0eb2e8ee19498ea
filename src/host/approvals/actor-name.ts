// How an actor recorded on an approval (a user id, `agent:<group>`, `cli:<login>`, `expiry`) is
// named to people on cards and to agents in outcomes.
import { getAgentGroup } from '../../db/agent-groups.ts';
import type { Db } from '../../db/connection.ts';
import { getUser } from '../../db/users.ts';

/** A user's display name, an agent group's name, or the actor as recorded. */
export function actorName(db: Db, actor: string): string {
  if (actor === 'expiry') return 'nobody (expired)';
  if (actor.startsWith('agent:')) {
    const group = getAgentGroup(db, actor.slice('agent:'.length));
    return group ? `agent "${group.name}"` : actor;
  }
  if (actor.startsWith('cli:')) return `${actor.slice(4)} (CLI)`;
  const user = getUser(db, actor);
  return user?.displayName ? `${user.displayName} (${actor})` : actor;
}
