import type { Migration } from '../migrate.ts';

// Per-user daily token budgets (src/host/gateway/admission.ts): tokens per UTC day the model gateway
// allows for calls made while answering one user, next to the agent group's budget. NULL is no limit.
// The gateway sums that user's usage of the day on every call for them: an index on (user, time)
// replaces the one on user alone, which it covers.
const sql = `
ALTER TABLE users ADD COLUMN daily_token_budget INTEGER
  CHECK (daily_token_budget IS NULL OR (typeof(daily_token_budget) = 'integer' AND daily_token_budget >= 1));
DROP INDEX model_usage_user;
CREATE INDEX model_usage_user_time ON model_usage(user_id, created_at);
`;

const migration: Migration = { version: 11, name: 'user-budgets', sql };
export default migration;
