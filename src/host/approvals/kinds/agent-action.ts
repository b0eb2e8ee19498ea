// agent_action: the agent's request_approval(action, summary, payload). Nothing is applied on the
// host: the agent is told the outcome with the payload as approved (the reviewer may have edited it)
// and acts on it itself.
import { approvalActionPayloads, type ApprovalActionPayload } from '../../../shared/session-content.ts';
import { getAgentGroup } from '../../../db/agent-groups.ts';
import { handler } from './kind.ts';

type Payload = ApprovalActionPayload<'request_approval'>;

export const agentAction = handler<Payload>({
  kind: 'agent_action',
  title: 'Agent action',
  schema: approvalActionPayloads.request_approval,
  needsAgentGroup: true,
  editable: true,
  effect: (p, db, agentGroupId) =>
    `Agent "${(agentGroupId && getAgentGroup(db, agentGroupId)?.name) ?? agentGroupId}" asks to ` +
    `${JSON.stringify(p.action)}. It acts only once approved, with the payload as approved (you may edit it).`,
  apply() {
    // The agent acts on the outcome; the host has nothing to change.
  },
});
