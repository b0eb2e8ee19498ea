import { expect, test } from 'vitest';
import * as enums from '../../src/db/enums.ts';
import { centralSchemaTables } from '../harness/central-schema.ts';

// Every `column IN ('…')` CHECK in the central schema, keyed `table.column`, and the TypeScript
// array that must list the same values in the same order.
const ENUM_COLUMNS: Record<string, readonly string[]> = {
  'agent_groups.provider': enums.PROVIDERS,
  'messaging_groups.unknown_sender_policy': enums.UNKNOWN_SENDER_POLICIES,
  'wirings.engage_mode': enums.ENGAGE_MODES,
  'wirings.sender_scope': enums.SENDER_SCOPES,
  'wirings.ignored_message_policy': enums.IGNORED_MESSAGE_POLICIES,
  'wirings.session_mode': enums.SESSION_MODES,
  'users.kind': enums.USER_KINDS,
  'users.status': enums.USER_STATUSES,
  'identity_events.event': enums.IDENTITY_EVENT_KINDS,
  'user_roles.role': enums.ROLES,
  'sessions.status': enums.SESSION_STATUSES,
  'sessions.container_status': enums.CONTAINER_STATUSES,
  'agent_destinations.target_kind': enums.DESTINATION_KINDS,
  'approvals.kind': enums.APPROVAL_KINDS,
  'approvals.status': enums.APPROVAL_STATUSES,
  'approvals.expiry_action': enums.EXPIRY_ACTIONS,
  'questions.status': enums.QUESTION_STATUSES,
  'dropped_messages.reason': enums.DROP_REASONS,
  'delivery_attempts.status': enums.DELIVERY_STATUSES,
  'delivery_attempts.error_code': enums.DELIVERY_ERROR_CODES,
  'channel_installations.status': enums.INSTALLATION_STATUSES,
  'model_usage.provider': enums.MODEL_PROVIDERS,
};

function schemaEnums(): Map<string, string[]> {
  const tables = centralSchemaTables();
  const found = new Map<string, string[]>();
  for (const { name, sql } of tables) {
    // Only lists of quoted strings: `is_group IN (0, 1)` is a boolean, not an enum.
    for (const match of sql.matchAll(/(\w+)\s+IN\s*\(\s*('[^)]*')\s*\)/g)) {
      const values = [...match[2]!.matchAll(/'([^']*)'/g)].map((m) => m[1]!);
      const key = `${name}.${match[1]}`;
      expect(found.has(key), `${key} has two CHECK IN lists`).toBe(false);
      found.set(key, values);
    }
  }
  return found;
}

test('every CHECK enum in the schema lists exactly the values of its TypeScript union, in order', () => {
  const found = schemaEnums();
  for (const [column, values] of found) {
    expect(
      ENUM_COLUMNS[column],
      `${column} has a CHECK list but no TypeScript array mapped in this test`,
    ).toBeDefined();
    expect(values, column).toEqual([...ENUM_COLUMNS[column]!]);
  }
  expect([...found.keys()].sort()).toEqual(Object.keys(ENUM_COLUMNS).sort());
});

test('every enum array exported by src/db/enums.ts backs a CHECK in the schema', () => {
  const exported = Object.entries(enums).filter(([, value]) => Array.isArray(value));
  const mapped = new Set(Object.values(ENUM_COLUMNS));
  const unmapped = exported
    .filter(([, value]) => !mapped.has(value as readonly string[]))
    .map(([name]) => name);
  expect(unmapped).toEqual([]);
});
