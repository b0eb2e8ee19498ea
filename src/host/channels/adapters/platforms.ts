// The platform adapters this build carries, by platform (docs/channels.md). Each is loaded when an
// installation of its platform is started or tested: a host without Discord never loads discord.js.
import type { AdapterFactory } from '../installations.ts';
import type { Platform } from '../platform.ts';

export type AdapterLoader = () => Promise<AdapterFactory>;

export const ADAPTER_FACTORIES: Readonly<Record<Platform, AdapterLoader>> = {
  telegram: async () => (await import('./telegram/index.ts')).createTelegramAdapter,
  slack: async () => (await import('./slack/index.ts')).createSlackAdapter,
  discord: async () => (await import('./discord/index.ts')).createDiscordAdapter,
  webhook: async () => (await import('./webhook/index.ts')).createWebhookAdapter,
  whatsapp: async () => (await import('./whatsapp/index.ts')).createWhatsAppAdapter,
  teams: async () => (await import('./teams/index.ts')).createTeamsAdapter,
  email: async () => (await import('./email/index.ts')).createEmailAdapter,
};
