import type { Migration } from '../migrate.ts';
import initial from './001-initial.ts';
import approvals from './002-approvals.ts';
import access from './003-access.ts';

/** Every migration, in order. Append; never edit or reorder. */
export const MIGRATIONS: readonly Migration[] = [initial, approvals, access];
