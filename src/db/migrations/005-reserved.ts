import type { Migration } from '../migrate.ts';

// Reserved: version 5 belongs to a change made in parallel with 006. This stand-in keeps the
// numbering without gaps on this branch and is replaced by that migration when both are merged.
const migration: Migration = { version: 5, name: 'reserved', sql: '' };
export default migration;
