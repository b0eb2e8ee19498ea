// The parts of an agent group's container_config the approval kinds change. The container subsystem
// reads them: `image` (built with the approved packages) and `mcpServers` (started by the runner) for
// the group's next containers, and `packages` as the record of what was approved.
import { z } from 'zod';
import type { AgentGroup } from '../../../db/agent-groups.ts';
import { mcpServerSpecSchema, type McpServerSpec } from '../../../shared/session-content.ts';

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

/**
 * The group's approved MCP servers as the runner gets them, sorted by name. Each entry is checked
 * against the request's own schema: one that does not fit (container_config edited by hand) is left
 * out and named in `invalid`, so the caller can log it and the agent still starts.
 */
export function approvedMcpServers(group: AgentGroup): {
  servers: McpServerSpec[];
  invalid: { name: string; problem: string }[];
} {
  const servers: McpServerSpec[] = [];
  const invalid: { name: string; problem: string }[] = [];
  for (const [name, config] of Object.entries(mcpServersOf(group)).sort(([a], [b]) => (a < b ? -1 : 1))) {
    const entry = config && typeof config === 'object' ? config : {};
    const parsed = mcpServerSpecSchema.safeParse({ ...entry, name });
    if (parsed.success) servers.push(parsed.data);
    else invalid.push({ name, problem: z.prettifyError(parsed.error).replace(/\n/g, '; ') });
  }
  return { servers, invalid };
}

/** Sorted, without repeats: the same set of packages always gives the same image. */
export function mergePackages(current: Packages, added: Packages): Packages {
  const union = (a: string[], b: string[]) => [...new Set([...a, ...b])].sort();
  return { apt: union(current.apt, added.apt), npm: union(current.npm, added.npm) };
}
