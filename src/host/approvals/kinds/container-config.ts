// The parts of an agent group's container_config the approval kinds change. The container subsystem
// reads them: `image` (built with the approved packages) for the group's next containers, and
// `packages` / `mcpServers` as the record of what was approved.
import { z } from 'zod';
import type { AgentGroup } from '../../../db/agent-groups.ts';

export const packagesSchema = z.object({
  apt: z.array(z.string()).default([]),
  npm: z.array(z.string()).default([]),
});
export type Packages = z.infer<typeof packagesSchema>;

// A type, not an interface: it must fit container_config's JSON type.
export type McpServerConfig = { command: string; args: string[]; env: Record<string, string> };

export function packagesOf(group: AgentGroup): Packages {
  const parsed = packagesSchema.safeParse(group.containerConfig.packages ?? {});
  return parsed.success ? parsed.data : { apt: [], npm: [] };
}

export function mcpServersOf(group: AgentGroup): Record<string, McpServerConfig> {
  const servers = group.containerConfig.mcpServers;
  return servers && typeof servers === 'object' && !Array.isArray(servers)
    ? (servers as unknown as Record<string, McpServerConfig>)
    : {};
}

/** Sorted, without repeats: the same set of packages always gives the same image. */
export function mergePackages(current: Packages, added: Packages): Packages {
  const union = (a: string[], b: string[]) => [...new Set([...a, ...b])].sort();
  return { apt: union(current.apt, added.apt), npm: union(current.npm, added.npm) };
}
