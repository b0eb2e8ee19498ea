// Agent images with the packages an agent group's container_config lists (install_packages). One
// build per group at a time: a second approval's build waits for the first and then includes both.
// The group's next containers use the image once it is recorded in its container_config.
import { getAgentGroup, listAgentGroups, updateAgentGroup } from '../../db/agent-groups.ts';
import type { Db } from '../../db/connection.ts';
import { errorText } from '../../shared/error-text.ts';
import type { PackageSet } from '../containers/index.ts';
import type { Logger } from '../logger.ts';
import { packagesOf } from './kinds/index.ts';

export interface PackageImagesDeps {
  db: Db;
  clock: () => Date;
  log: Logger;
  /** Builds agent images with packages; without it such builds fail (no container engine). */
  images?: { baseTag: string; build(packages: PackageSet): Promise<string> };
}

export type ImageBuildOutcome = { ok: true; image: string } | { ok: false; error: string };

export function createPackageImages(deps: PackageImagesDeps) {
  const builds = new Map<string, Promise<ImageBuildOutcome>>();
  return { rebuild, rebuildStale };

  /** Rebuilds the group's image from every package its container_config lists, after any running build. */
  function rebuild(agentGroupId: string): Promise<ImageBuildOutcome> {
    const previous = builds.get(agentGroupId) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(() => buildNow(deps, agentGroupId));
    builds.set(agentGroupId, next);
    // The caller gets the outcome (or the failure) through `next`; this bookkeeping copy must not
    // become an unhandled rejection of its own.
    next
      .finally(() => builds.get(agentGroupId) === next && builds.delete(agentGroupId))
      .catch(() => undefined);
    return next;
  }

  /** At start-up: groups whose package image was built on another base (Node or the recipe changed). */
  function rebuildStale(): void {
    if (!deps.images) return;
    for (const group of listAgentGroups(deps.db)) {
      const packages = packagesOf(group);
      if (packages.apt.length + packages.npm.length === 0) continue;
      if (group.containerConfig.imageBase === deps.images.baseTag) continue;
      deps.log.info({ agentGroupId: group.id }, 'agent group image is out of date; rebuilding');
      rebuild(group.id).catch((err: unknown) =>
        deps.log.error({ agentGroupId: group.id, err }, 'agent group image rebuild failed'),
      );
    }
  }
}

async function buildNow(deps: PackageImagesDeps, agentGroupId: string): Promise<ImageBuildOutcome> {
  const { db, clock, log, images } = deps;
  const group = getAgentGroup(db, agentGroupId);
  if (!group) return { ok: false, error: `agent group ${agentGroupId} no longer exists` };
  const record = (imageBuild: Record<string, string>, image?: { tag: string; base: string }) => {
    const current = getAgentGroup(db, agentGroupId);
    if (!current) return;
    const config = { ...current.containerConfig, imageBuild };
    if (image) Object.assign(config, { image: image.tag, imageBase: image.base });
    updateAgentGroup(db, agentGroupId, { containerConfig: config }, clock().toISOString());
  };
  if (!images) {
    const error = 'this host cannot build images (no container engine)';
    record({ status: 'failed', error, at: clock().toISOString() });
    return { ok: false, error };
  }
  try {
    const tag = await images.build(packagesOf(group));
    record({ status: 'ready', tag, at: clock().toISOString() }, { tag, base: images.baseTag });
    log.info({ agentGroupId, image: tag }, 'agent group image ready');
    return { ok: true, image: tag };
  } catch (err) {
    const error = errorText(err);
    record({ status: 'failed', error: error.slice(0, 1000), at: clock().toISOString() });
    log.error({ agentGroupId, err }, 'agent group image build failed');
    return { ok: false, error };
  }
}

export type PackageImages = ReturnType<typeof createPackageImages>;
