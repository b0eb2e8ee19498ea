import type { Migration } from '../migrate.ts';

// A session the host stopped trusting (its container wrote something unsafe into out/, DESIGN §10) is
// closed with the reason, so operators see why in `warren dropped` and the chat gets a fresh session.
const sql = `
ALTER TABLE sessions ADD COLUMN closed_reason TEXT;
CREATE INDEX sessions_closed_reason ON sessions(closed_at) WHERE closed_reason IS NOT NULL;
`;

const migration: Migration = { version: 5, name: 'unsafe-sessions', sql };
export default migration;
