// The platform adapters this build carries, by platform (docs/channels.md).
import type { AdapterFactory } from '../installations.ts';
import type { Platform } from '../platform.ts';
import { createDiscordAdapter } from './discord/index.ts';
import { createSlackAdapter } from './slack/index.ts';
import { createTelegramAdapter } from './telegram/index.ts';

export const ADAPTER_FACTORIES: Partial<Record<Platform, AdapterFactory>> = {
  telegram: createTelegramAdapter,
  slack: createSlackAdapter,
  discord: createDiscordAdapter,
};
