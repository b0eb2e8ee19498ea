import type { Migration } from '../migrate.ts';

// Short-lived API tokens (the dashboard's one-time sign-in gives one for 8 hours): when a token stops
// working by itself, apart from when someone revoked it. NULL: it works until revoked.
const sql = `
ALTER TABLE api_tokens ADD COLUMN expires_at TEXT;
`;

const migration: Migration = { version: 12, name: 'token-expiry', sql };
export default migration;
