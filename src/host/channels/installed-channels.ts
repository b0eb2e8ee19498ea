// The channels of the installations in the database, built at start-up. One that cannot be built (a
// credential missing, a bad setting) is logged with what to fix and left out: the host still starts.
import { getChannelState, setChannelState } from '../../db/channel-state.ts';
import { listChannelInstallations } from '../../db/channel-installations.ts';
import type { Db } from '../../db/connection.ts';
import { errorText } from '../../shared/error-text.ts';
import type { Logger } from '../logger.ts';
import { ADAPTER_FACTORIES, type AdapterLoader } from './adapters/platforms.ts';
import { buildAdapter, channelTypeOf, parseConfig } from './installations.ts';
import type { ChannelState, Platform } from './platform.ts';
import { createPlatformChannel, type PlatformChannel } from './platform-channel.ts';

export interface InstalledChannelsDeps {
  db: Db;
  clock: () => Date;
  log: Logger;
  secrets: { get(name: string): string | undefined; readonly file: string };
  settings: { typingTimeoutMs: number; watchdogCheckMs: number };
  /** Largest file taken in from a platform (config attachments.maxFileMb): bigger ones are not downloaded. */
  maxInboundFileBytes: number;
  /** The adapters to build with; the build's own by default (tests may swap one). */
  factories?: Partial<Record<Platform, AdapterLoader>>;
}

/** Each channel's state (AdapterOptions.state), kept in the channel_state table. */
export const channelStateIn =
  (db: Db, clock: () => Date) =>
  (channelType: string): ChannelState => ({
    get: (key) => getChannelState(db, channelType, key),
    set: (key, value) => setChannelState(db, channelType, key, value, clock().toISOString()),
  });

export async function createInstalledChannels(deps: InstalledChannelsDeps): Promise<PlatformChannel[]> {
  const { db, clock, log } = deps;
  const built = listChannelInstallations(db, 'enabled').map(async (installation) => {
    const type = channelTypeOf(installation);
    try {
      const adapter = await buildAdapter(installation, deps.factories ?? ADAPTER_FACTORIES, {
        secret: (name) => deps.secrets.get(name),
        secretsFile: deps.secrets.file,
        maxInboundFileBytes: deps.maxInboundFileBytes,
        state: channelStateIn(db, clock),
        log: log.child({ channel: type }),
        clock,
      });
      const staleAfterMs = parseConfig(installation).staleAfterMs;
      return [
        createPlatformChannel(type, adapter, {
          db,
          clock,
          log,
          options: {
            typingTimeoutMs: deps.settings.typingTimeoutMs,
            checkEveryMs: deps.settings.watchdogCheckMs,
            ...(staleAfterMs ? { staleAfterMs } : {}),
          },
        }),
      ];
    } catch (err) {
      log.error({ channel: type, error: errorText(err) }, 'channel not started');
      return [];
    }
  });
  return (await Promise.all(built)).flat();
}
