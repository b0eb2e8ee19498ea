// install_packages: an agent wants apt and/or npm packages in its containers. Approving records them
// in the agent group's container_config; after the commit the group's image is rebuilt with every
// approved package (off the event loop), and the group's next containers start from it.
import { approvalActionPayloads, type ApprovalActionPayload } from '../../../shared/session-content.ts';
import { getAgentGroup, updateAgentGroup } from '../../../db/agent-groups.ts';
import { ApplyError, handler } from './kind.ts';
import { mergePackages, packagesOf } from './container-config.ts';

type Payload = ApprovalActionPayload<'install_packages'>;

export const installPackages = handler<Payload>({
  kind: 'install_packages',
  title: 'Install packages',
  schema: approvalActionPayloads.install_packages,
  needsAgentGroup: true,
  effect: (p, db, agentGroupId) =>
    `Installs ${list('apt', p.apt)}${p.apt.length && p.npm.length ? ' and ' : ''}${list('npm', p.npm)} ` +
    `into the image of agent "${(agentGroupId && getAgentGroup(db, agentGroupId)?.name) ?? agentGroupId}"` +
    ' (downloaded now from the Debian and npm registries; no install scripts run). Its next containers use it.',
  apply({ db, now }, approval, p) {
    const group = getAgentGroup(db, approval.agentGroupId!);
    if (!group) throw new ApplyError(`agent group ${approval.agentGroupId} no longer exists`);
    const packages = mergePackages(packagesOf(group), { apt: p.apt, npm: p.npm });
    updateAgentGroup(
      db,
      group.id,
      {
        containerConfig: {
          ...group.containerConfig,
          packages,
          imageBuild: { status: 'pending', approvalId: approval.id, since: now },
        },
      },
      now,
    );
  },
  async followUp(ctx, approval, _p, approved) {
    if (!approved) return;
    const built = await ctx.rebuildImage(approval.agentGroupId!);
    ctx.notifyRequester(
      built.ok
        ? { event: 'packages_installed', approvalId: approval.id, image: built.image }
        : { event: 'packages_failed', approvalId: approval.id, error: built.error },
      `${approval.id}:built`,
    );
  },
});

const list = (manager: string, names: string[]) => (names.length ? `${manager} ${names.join(', ')}` : '');
