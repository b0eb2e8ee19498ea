// Every CHECK-constrained enum of the central database, as TypeScript unions.
// test/unit/db-enums.test.ts reads the CHECK lists back from the migrated schema and
// fails when a value is added on one side only.

export const PROVIDERS = ['claude', 'openai', 'scripted'] as const;
export type Provider = (typeof PROVIDERS)[number];

/** Providers that call a real model through the gateway (`scripted` makes no model calls). */
export const MODEL_PROVIDERS = ['claude', 'openai'] as const;
export type ModelProvider = (typeof MODEL_PROVIDERS)[number];

export const UNKNOWN_SENDER_POLICIES = ['strict', 'request_approval', 'public'] as const;
export type UnknownSenderPolicy = (typeof UNKNOWN_SENDER_POLICIES)[number];

export const ENGAGE_MODES = ['pattern', 'mention', 'mention-sticky'] as const;
export type EngageMode = (typeof ENGAGE_MODES)[number];

export const SENDER_SCOPES = ['all', 'known'] as const;
export type SenderScope = (typeof SENDER_SCOPES)[number];

export const IGNORED_MESSAGE_POLICIES = ['drop', 'accumulate'] as const;
export type IgnoredMessagePolicy = (typeof IGNORED_MESSAGE_POLICIES)[number];

export const SESSION_MODES = ['shared', 'per-thread', 'agent-shared'] as const;
export type SessionMode = (typeof SESSION_MODES)[number];

export const USER_KINDS = ['person', 'bot'] as const;
export type UserKind = (typeof USER_KINDS)[number];

export const USER_STATUSES = ['invited', 'active', 'suspended'] as const;
export type UserStatus = (typeof USER_STATUSES)[number];

export const IDENTITY_EVENT_KINDS = [
  'created',
  'added',
  'removed',
  'merged',
  'status_changed',
  'role_changed',
] as const;
export type IdentityEventKind = (typeof IDENTITY_EVENT_KINDS)[number];

export const ROLES = ['owner', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export const SESSION_STATUSES = ['active', 'closed'] as const;
export type SessionStatus = (typeof SESSION_STATUSES)[number];

export const CONTAINER_STATUSES = ['stopped', 'starting', 'running', 'stopping'] as const;
export type ContainerStatus = (typeof CONTAINER_STATUSES)[number];

export const DESTINATION_KINDS = ['channel', 'agent'] as const;
export type DestinationKind = (typeof DESTINATION_KINDS)[number];

export const APPROVAL_KINDS = [
  'new_sender',
  'new_channel',
  'install_packages',
  'add_mcp_server',
  'create_agent',
  'agent_action',
  'cli_command',
] as const;
export type ApprovalKind = (typeof APPROVAL_KINDS)[number];

export const APPROVAL_STATUSES = [
  'pending',
  'approved',
  'rejected',
  'expired_approved',
  'expired_rejected',
  'cancelled',
] as const;
export type ApprovalStatus = (typeof APPROVAL_STATUSES)[number];

export const EXPIRY_ACTIONS = ['reject', 'approve'] as const;
export type ExpiryAction = (typeof EXPIRY_ACTIONS)[number];

export const QUESTION_STATUSES = ['pending', 'answered', 'expired', 'cancelled'] as const;
export type QuestionStatus = (typeof QUESTION_STATUSES)[number];

export const DROP_REASONS = [
  'no_wiring',
  'not_engaged',
  'unknown_sender',
  'sender_not_known',
  'user_suspended',
  'chat_denied',
  'invalid_message',
  'sender_rejected',
  'agent_not_allowed',
  'agent_rate_capped',
  'agent_loop_capped',
] as const;
export type DropReason = (typeof DROP_REASONS)[number];

export const DELIVERY_STATUSES = ['sending', 'delivered', 'failed', 'skipped'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

export const DELIVERY_ERROR_CODES = [
  'rate_limited',
  'auth_failed',
  'forbidden',
  'not_found',
  'too_large',
  'invalid_request',
  'unsupported',
  'transient',
  'destination_denied',
  'unknown',
] as const;
export type DeliveryErrorCode = (typeof DELIVERY_ERROR_CODES)[number];

export const INSTALLATION_STATUSES = ['enabled', 'disabled', 'error'] as const;
export type InstallationStatus = (typeof INSTALLATION_STATUSES)[number];
