// add_mcp_server: an agent wants another MCP server (a command its runner starts inside the
// container). The card shows the command, every argument and every environment entry.
import { approvalActionPayloads, type ApprovalActionPayload } from '../../../shared/session-content.ts';
import { getAgentGroup, updateAgentGroup } from '../../../db/agent-groups.ts';
import { ApplyError, handler } from './kind.ts';
import { mcpServersOf } from './container-config.ts';

type Payload = ApprovalActionPayload<'add_mcp_server'>;

export const addMcpServer = handler<Payload>({
  kind: 'add_mcp_server',
  title: 'Add an MCP server',
  schema: approvalActionPayloads.add_mcp_server,
  needsAgentGroup: true,
  effect(p, db, agentGroupId) {
    const group = agentGroupId ? getAgentGroup(db, agentGroupId) : undefined;
    const replaces =
      group && mcpServersOf(group)[p.name] ? ` It replaces the existing server "${p.name}".` : '';
    return (
      `Lets agent "${group?.name ?? agentGroupId}" run the MCP server "${p.name}" in its containers: ` +
      `the command below with these arguments and environment.${replaces}`
    );
  },
  apply({ db, now }, approval, p) {
    const group = getAgentGroup(db, approval.agentGroupId!);
    if (!group) throw new ApplyError(`agent group ${approval.agentGroupId} no longer exists`);
    const mcpServers = { ...mcpServersOf(group), [p.name]: { command: p.command, args: p.args, env: p.env } };
    updateAgentGroup(db, group.id, { containerConfig: { ...group.containerConfig, mcpServers } }, now);
  },
});
