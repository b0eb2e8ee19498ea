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
export {
  createPlatformChannel,
  DEFAULT_PLATFORM_CHANNEL_OPTIONS,
  type PlatformChannel,
  type PlatformChannelOptions,
} from './platform-channel.ts';
export { channelStateIn, createInstalledChannels } from './installed-channels.ts';
export {
  buildAdapter,
  channelTypeOf,
  installationConfig,
  InstallationConfigError,
  isPlatform,
  missingCredentials,
  modesOf,
  neededRoles,
  parseConfig,
  secretNameOf,
  type AdapterFactory,
} from './installations.ts';
export { ADAPTER_FACTORIES } from './adapters/platforms.ts';
export * from './platform.ts';
export { splitText } from './split-text.ts';
