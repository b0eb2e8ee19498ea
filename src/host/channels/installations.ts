// Installations (docs/channels.md): each configured bot becomes a channel. Its row names its platform,
// settings and which secrets hold its credentials; the secrets themselves come from the environment or
// the secrets file, are never stored in the database and never logged.
import { z } from 'zod';
import type { ChannelInstallation } from '../../db/channel-installations.ts';
import { PLATFORMS, type AdapterOptions, type Platform, type PlatformAdapter } from './platform.ts';

export type AdapterFactory = (options: AdapterOptions) => PlatformAdapter;

const SECRET_NAME = /^[A-Z_][A-Z0-9_]{0,127}$/;

/** What an installation's config column may hold; platform-specific keys pass through to the adapter. */
export const installationConfig = z.looseObject({
  /** The platform's API base URL: a self-hosted Telegram Bot API server, another Slack cloud, a test server. */
  apiBaseUrl: z.url({ protocol: /^https?$/ }).optional(),
  mode: z.string().min(1).max(32).optional(),
  /** Secret names by role (botToken, appToken, signingSecret, webhookSecret); defaults below. */
  secrets: z
    .record(z.string(), z.string().regex(SECRET_NAME, 'secret names are like TELEGRAM_BOT_TOKEN'))
    .optional(),
  /** No sign of life for this long: the channel is unhealthy and restarted (5 s to 10 min). */
  staleAfterMs: z.number().int().min(1_000).max(600_000).optional(),
});
export type InstallationConfig = z.infer<typeof installationConfig>;

/** The credentials each platform needs, by mode (the first mode listed is the default). */
const NEEDS: Record<Platform, Record<string, string[]>> = {
  telegram: { polling: ['botToken'], webhook: ['botToken', 'webhookSecret'] },
  slack: { socket: ['botToken', 'appToken'], http: ['botToken', 'signingSecret'] },
  discord: { gateway: ['botToken'] },
  webhook: { signed: ['secret', 'callbackSecret'] },
  whatsapp: { cloud: ['accessToken', 'appSecret', 'verifyToken'] },
  teams: { bot: ['appPassword'] },
  email: { imap: ['password'] },
};

export const isPlatform = (name: string): name is Platform => (PLATFORMS as readonly string[]).includes(name);

/** The modes of a platform, the default first. */
export const modesOf = (platform: Platform): string[] => Object.keys(NEEDS[platform]);

/**
 * The channel type of an installation: chats, accounts and deliveries are keyed by it. The installation
 * named after its platform is just "telegram"; another one is "telegram-NAME".
 */
export const channelTypeOf = (installation: Pick<ChannelInstallation, 'channelType' | 'name'>): string =>
  installation.name === installation.channelType
    ? installation.channelType
    : `${installation.channelType}-${installation.name}`;

/** The secret name for a role: the config's choice, else PLATFORM_ROLE (+ _NAME for a named installation). */
export function secretNameOf(
  installation: Pick<ChannelInstallation, 'channelType' | 'name'>,
  config: InstallationConfig,
  role: string,
): string {
  const chosen = config.secrets?.[role];
  if (chosen) return chosen;
  const snake = role.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase();
  const suffix = installation.name === installation.channelType ? '' : `_${installation.name.toUpperCase()}`;
  return `${installation.channelType.toUpperCase()}_${snake}${suffix}`.replace(/-/g, '_');
}

export class InstallationConfigError extends Error {
  override name = 'InstallationConfigError';
}

/** The roles this installation needs credentials for in its mode. */
export function neededRoles(installation: ChannelInstallation): { mode: string; roles: string[] } {
  const platform = installation.channelType;
  if (!isPlatform(platform)) {
    throw new InstallationConfigError(`unknown platform "${platform}" (known: ${PLATFORMS.join(', ')})`);
  }
  const config = parseConfig(installation);
  const mode = config.mode ?? modesOf(platform)[0]!;
  const roles = NEEDS[platform][mode];
  if (!roles) {
    throw new InstallationConfigError(
      `${platform} has no mode "${mode}" (modes: ${modesOf(platform).join(', ')})`,
    );
  }
  return { mode, roles };
}

export function parseConfig(installation: ChannelInstallation): InstallationConfig {
  const parsed = installationConfig.safeParse(installation.config);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new InstallationConfigError(
      `installation ${channelTypeOf(installation)}: ${issue.path.join('.') || 'config'}: ${issue.message}`,
    );
  }
  return parsed.data;
}

/**
 * The credentials this installation lacks, each with the secret name to set. Empty: all are there.
 */
export function missingCredentials(
  installation: ChannelInstallation,
  secret: (name: string) => string | undefined,
): string[] {
  const config = parseConfig(installation);
  return neededRoles(installation)
    .roles.map((role) => secretNameOf(installation, config, role))
    .filter((name) => secret(name) === undefined);
}

/** The adapter for an installation, its credentials checked first (the error names what to set). */
export async function buildAdapter(
  installation: ChannelInstallation,
  factories: Partial<Record<Platform, () => Promise<AdapterFactory>>>,
  env: Omit<AdapterOptions, 'installation' | 'apiBaseUrl' | 'settings' | 'secret' | 'state'> & {
    state: (channelType: string) => AdapterOptions['state'];
    secret: (name: string) => string | undefined;
    secretsFile: string;
  },
): Promise<PlatformAdapter> {
  const type = channelTypeOf(installation);
  const config = parseConfig(installation);
  const { mode } = neededRoles(installation);
  const missing = missingCredentials(installation, env.secret);
  if (missing.length > 0) {
    throw new InstallationConfigError(
      `the ${type} channel needs ${missing.join(' and ')}: set ${missing.length > 1 ? 'them' : 'it'} in the environment or in ${env.secretsFile}`,
    );
  }
  const factory = await factories[installation.channelType as Platform]?.();
  if (!factory) throw new InstallationConfigError(`no adapter for ${installation.channelType} in this build`);
  // The adapter sees its platform's own settings; the shared ones are Warren's.
  const { apiBaseUrl, secrets: _names, staleAfterMs: _stale, ...platformSettings } = config;
  return factory({
    installation: type,
    ...(apiBaseUrl ? { apiBaseUrl: apiBaseUrl.replace(/\/+$/, '') } : {}),
    settings: { ...platformSettings, mode },
    secret: (role) => {
      const value = env.secret(secretNameOf(installation, config, role));
      if (value === undefined) throw new InstallationConfigError(`the ${type} channel has no ${role}`);
      return value;
    },
    maxInboundFileBytes: env.maxInboundFileBytes,
    state: env.state(type),
    log: env.log,
    clock: env.clock,
  });
}
