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
export { readUndelivered, readAcks, type OutboundMessage } from './outbound.ts';
export { SessionFileError } from '../../db/session-schema.ts';
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
