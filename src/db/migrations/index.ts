import type { Migration } from '../migrate.ts';
import initial from './001-initial.ts';
import models from './002-models.ts';
import approvals from './003-approvals.ts';
import access from './004-access.ts';
import unsafeSessions from './005-unsafe-sessions.ts';
import webSignIn from './006-web-sign-in.ts';
import hostNotices from './007-host-notices.ts';
import channelSends from './008-channel-sends.ts';
import channelState from './009-channel-state.ts';
import hostHeartbeat from './010-host-heartbeat.ts';
import userBudgets from './011-user-budgets.ts';
import tokenExpiry from './012-token-expiry.ts';

/** Every migration, in order. Append; never edit or reorder. */
export const MIGRATIONS: readonly Migration[] = [
  initial,
  models,
  approvals,
  access,
  unsafeSessions,
  webSignIn,
  hostNotices,
  channelSends,
  channelState,
  hostHeartbeat,
  userBudgets,
  tokenExpiry,
];
