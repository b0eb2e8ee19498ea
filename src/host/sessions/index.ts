export { sessionPaths, createSessionFiles, withSessionFile, type SessionPaths } from './files.ts';
export { closeKeptFilesUnder, keptFileCount } from './connections.ts';
export {
  insertMessagesIn,
  foldAcks,
  readRouting,
  recordDelivered,
  writeDestinations,
  writeRouting,
  writeSystemMessage,
  troubledMessages,
  InvalidMessageError,
  type NewMessageIn,
  type SystemMessage,
  type WrittenMessage,
  type DeliveredRecord,
  type DestinationProjection,
  type SessionRouting,
  type TroubledMessage,
} from './inbound.ts';
export { outboundSeqOf, senderUserIdOf } from './lookup.ts';
export {
  readOutboundPage,
  readUndelivered,
  oldestClaimAt,
  type OutboundRow,
  type OutboundPage,
} from './outbound.ts';
export { countDeliveryFailureNotices, platformIdOfSeq, platformIdsOfInbound } from './lookup.ts';
export { isStuck, nextTriggerDue } from './recovery.ts';
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
export { readClaimedRows, type ClaimedRow } from './claims.ts';
export { inTaskTransaction, readSeries, type NewTaskRun, type TaskTx } from './tasks.ts';
export { projectDestinations, resolveSession, sessionKeyFor } from './resolve.ts';
export { crashRetryDelayMs, pruneSessionFiles, recoverAbandonedRows } from './recovery.ts';
export { causeOf, latestTriggerOf } from './lookup.ts';
export {
  checkedType,
  DEFAULT_ATTACHMENT_LIMITS,
  MAX_FILES_PER_MESSAGE,
  planInbox,
  safeFileName,
  storeInboxFiles,
  type AttachmentLimits,
  type IncomingFile,
  type StoredInbox,
} from './inbox.ts';
export { sessionViewer, stopSession, type SessionView, type StopOutcome } from './operator.ts';
