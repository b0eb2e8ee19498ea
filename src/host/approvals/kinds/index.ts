// Every approval kind's handler, by kind. cli_command has none yet: such requests are refused.
import type { ApprovalKind } from '../../../db/enums.ts';
import { addMcpServer } from './add-mcp-server.ts';
import { agentAction } from './agent-action.ts';
import { createAgent } from './create-agent.ts';
import { installPackages } from './install-packages.ts';
import type { KindHandler } from './kind.ts';
import { newChannel } from './new-channel.ts';
import { newSender } from './new-sender.ts';

export const KIND_HANDLERS: Partial<Record<ApprovalKind, KindHandler>> = {
  new_sender: newSender,
  new_channel: newChannel,
  install_packages: installPackages,
  add_mcp_server: addMcpServer,
  create_agent: createAgent,
  agent_action: agentAction,
};

export { ApplyError } from './kind.ts';
export type { ApplyContext, ChatAddress, Choice, FollowUpContext, KindHandler } from './kind.ts';
export { approvedMcpServers, packagesOf, mcpServersOf, type Packages } from './container-config.ts';
