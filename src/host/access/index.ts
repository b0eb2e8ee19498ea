// Who may talk to which agent (DESIGN §7, docs/access.md): the front door. Other subsystems import
// this file only.
export {
  can,
  decideAccess,
  hasDecider,
  loadAccessFacts,
  type AccessAction,
  type AccessDecision,
  type AccessDenyReason,
  type AccessFacts,
  type AccessGrantReason,
} from './check.ts';
export {
  hasNoAccounts,
  linkAccount,
  MergedUserError,
  rememberDirectChat,
  UnknownUserError,
  userForAccount,
  userOf,
  type Account,
  type LinkOutcome,
} from './identity.ts';
export { mergeUsers, mergedStatus, MergeError, type MergeReport } from './merge.ts';
export {
  applyControl,
  parseControl,
  type ControlCommand,
  type ControlContext,
  type ControlReply,
  type ControlResult,
} from './binding.ts';
export {
  newChannelKey,
  newChannelRequest,
  newSenderKey,
  newSenderRequest,
  wasRejected,
  type ApprovalRequester,
} from './admission.ts';
export {
  capFor,
  createAgentMessages,
  hopsAfter,
  type AgentDeliveryOutcome,
  type AgentMessageCaps,
  type AgentMessages,
  type AgentMessagesDeps,
  type AgentRefusal,
} from './agent-messages.ts';
export {
  deleteUser,
  DeletionRefusedError,
  EXPORT_FORMAT,
  exportUser,
  personOf,
  type DataRightsOptions,
  type DeletionCounts,
  type DeletionResult,
  type Person,
  type StoreEntry,
  type StoreKind,
  type UserExport,
} from './data-rights.ts';
export { isDestinationAllowed } from './destinations.ts';
export { listUnmappedAccounts, type UnmappedAccount, type UnmappedQuery } from './unmapped.ts';
export { createWebSignIn, DEFAULT_LOGIN_LINK_TTL_MS, makeLoginLink } from './web-sign-in.ts';
export {
  DASHBOARD_TOKEN_TTL_MS,
  exchangeDashboardLink,
  mayUseDashboard,
  type DashboardSignIn,
} from './dashboard-sign-in.ts';
