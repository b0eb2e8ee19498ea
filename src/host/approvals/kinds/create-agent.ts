// create_agent: an agent wants a new agent group (a helper it can message). Approving creates the
// group with the requesting group's provider and model, its folder with AGENT.md holding the
// instructions, and a destination so the requesting agent can message it. The folder and the
// destination name are fixed when the request is made, so the card shows exactly what is created.
import { existsSync } from 'node:fs';
import { cp, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { createAgentGroup, getAgentGroup, getAgentGroupByFolder } from '../../../db/agent-groups.ts';
import type { Db } from '../../../db/connection.ts';
import { addAgentDestination, listDestinations } from '../../../db/destinations.ts';
import { approvalActionPayloads } from '../../../shared/session-content.ts';
import { REPO_ROOT } from '../../repo.ts';
import { ApplyError, handler } from './kind.ts';

const schema = approvalActionPayloads.create_agent.extend({
  folder: z
    .string()
    .regex(/^[a-z0-9][a-z0-9_-]{0,63}$/)
    .optional(),
  destinationName: z.string().min(1).max(100).optional(),
});
type Payload = z.infer<typeof schema>;

const TEMPLATE = join(REPO_ROOT, 'groups', '_template');

export const createAgent = handler<Payload>({
  kind: 'create_agent',
  title: 'Create an agent',
  schema,
  needsAgentGroup: true,
  prepare: (p, db) => ({
    ...p,
    folder: p.folder ?? freeFolder(db, p.name),
    destinationName: p.destinationName ?? destinationNameFor(p.name),
  }),
  effect(p, db, agentGroupId) {
    const requester = agentGroupId ? getAgentGroup(db, agentGroupId) : undefined;
    return (
      `Creates the agent "${p.name}" (folder ${p.folder}, provider ${requester?.provider ?? 'scripted'}) ` +
      `with the instructions below as its AGENT.md, and lets agent "${requester?.name ?? agentGroupId}" ` +
      `message it as "${p.destinationName}".`
    );
  },
  apply({ db, now }, approval, p) {
    const requester = getAgentGroup(db, approval.agentGroupId!);
    if (!requester) throw new ApplyError(`agent group ${approval.agentGroupId} no longer exists`);
    const folder = p.folder ?? freeFolder(db, p.name);
    if (getAgentGroupByFolder(db, folder))
      throw new ApplyError(`an agent group already uses folder ${folder}`);
    const name = p.destinationName ?? destinationNameFor(p.name);
    if (listDestinations(db, requester.id).some((d) => d.name === name)) {
      throw new ApplyError(`agent "${requester.name}" already has a destination named "${name}"`);
    }
    const created = createAgentGroup(
      db,
      {
        name: p.name,
        folder,
        provider: requester.provider,
        model: requester.model,
        timezone: requester.timezone,
      },
      now,
    );
    addAgentDestination(db, requester.id, name, created.id, now);
  },
  async followUp(ctx, _approval, p, approved) {
    if (!approved || !p.folder) return;
    const dir = join(ctx.groupsDir, p.folder);
    if (existsSync(join(dir, 'AGENT.md'))) return; // done before a crash, or an operator's own folder
    await mkdir(dir, { recursive: true });
    await cp(TEMPLATE, dir, { recursive: true, force: false, errorOnExist: false });
    await writeFile(join(dir, 'AGENT.md'), `# ${p.name}\n\n${p.instructions}\n`);
  },
});

/** A folder name from the agent's name, with -2, -3 … when taken. */
function freeFolder(db: Db, name: string): string {
  const base =
    name
      .toLowerCase()
      .normalize('NFKD')
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 56) || 'agent';
  for (let n = 1; ; n++) {
    const folder = n === 1 ? base : `${base}-${n}`;
    if (!getAgentGroupByFolder(db, folder)) return folder;
  }
}

/** Destination names are what a model types: letters, digits, spaces, _ . - only. */
function destinationNameFor(name: string): string {
  const cleaned = name
    .replace(/[^A-Za-z0-9 _.-]+/g, ' ')
    .trim()
    .replace(/^[^A-Za-z0-9]+/, '')
    .slice(0, 100);
  return cleaned || 'helper';
}
