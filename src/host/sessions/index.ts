export { sessionPaths, createSessionFiles, withSessionFile, type SessionPaths } from './files.ts';
export {
  insertMessagesIn,
  foldAcks,
  recordDelivered,
  writeDestinations,
  writeRouting,
  InvalidMessageError,
  type NewMessageIn,
  type WrittenMessage,
  type DeliveredRecord,
  type DestinationProjection,
  type SessionRouting,
} from './inbound.ts';
export {
  readOutboundPage,
  readUndelivered,
  readAcks,
  type OutboundMessage,
  type OutboundPage,
} from './outbound.ts';
export {
  heartbeatAt,
  lastSignOfLife,
  removeOutboxFolder,
  settleOutbound,
  stageOutboxFiles,
  SessionBusyError,
  SessionUnsafeError,
  OUTPUT_LIMITS,
  type StagedFiles,
} from './output.ts';
export { SessionFileError } from '../../shared/session-contract.ts';
export { createQuarantine, type Quarantine } from './quarantine.ts';
export {
  claudeStateOf,
  compactSessionFiles,
  conversationStateOf,
  dropConversationState,
  groupFilesOf,
  homeFilesOf,
  outboxOf,
  removeWalk,
  servedFilesOf,
  sessionLogsOf,
  walkRegular,
  type Walk,
} from './stores.ts';
export {
  createDiskQuota,
  isHeldForDiskQuota,
  measureDiskUsage,
  quotaVerdict,
  writableSessionDirs,
  type DiskQuota,
  type DiskQuotaDeps,
  type DiskUsage,
} from './disk-usage.ts';
export { LOCK_FILE, lockSession, sessionLock, SessionLockedError, type SessionLockInfo } from './lock.ts';
export {
  deleteSentRows,
  readChannelChatRows,
  readSentRows,
  type ChannelChatRow,
  type DeletedSentRows,
  type SenderKeys,
  type SentRows,
} from './sent-rows.ts';
export { readClaimedChats } from './claims.ts';
export { inTaskTransaction, readSeries, type NewTaskRun, type TaskTx } from './tasks.ts';
