// Channels (DESIGN §5): the contract every platform adapter implements, the registry the host sends
// through, and the adapters. This file is the only import surface of channels/.
export * from './channel.ts';
export {
  createChannelRegistry,
  ChannelConnectionError,
  UnknownChannelError,
  type ChannelRegistry,
} from './registry.ts';
export { readServerSentEvents, parseServerSentEvents, type ServerSentEvent } from './sse-reader.ts';
export { createCliChannel } from './adapters/cli.ts';
export {
  createWebchatChannel,
  CLI_SECRET_HEADER,
  DEFAULT_WEBCHAT_LIMITS,
  eventsDirOf,
  eventsFileOf,
  parseFrame,
  parseSavedEvents,
  writeSavedEvents,
  type SavedEvent,
  type WebchatAuth,
  type WebchatChannel,
  type WebchatLimits,
  type WebchatOptions,
} from './adapters/webchat/index.ts';
