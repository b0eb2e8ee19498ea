import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import * as contract from '../../src/shared/session-contract.ts';

// Every `column IN ('…')` CHECK in the two session files, keyed `file.table.column`, and the array
// both sides type their values with.
const ENUM_COLUMNS: Record<string, readonly string[]> = {
  'inbound.messages_in.kind': contract.MESSAGE_IN_KINDS,
  'inbound.messages_in.status': contract.MESSAGE_IN_STATUSES,
  'inbound.delivered.status': contract.DELIVERED_STATUSES,
  'inbound.destinations.kind': contract.DESTINATION_KINDS,
  'outbound.messages_out.kind': contract.MESSAGE_OUT_KINDS,
  'outbound.processing_ack.status': contract.ACK_STATUSES,
};

function schemaEnums(file: contract.SessionFileName): Map<string, string[]> {
  const path = join(mkdtempSync(join(tmpdir(), 'warren-enums-')), `${file}.db`);
  const db = contract.openSessionFile({ sessionId: 's', file, path, readonly: false, create: true });
  const tables = db
    .prepare("SELECT name, sql FROM sqlite_master WHERE type = 'table' AND sql IS NOT NULL")
    .all() as { name: string; sql: string }[];
  db.close();
  const found = new Map<string, string[]>();
  for (const { name, sql } of tables) {
    for (const match of sql.matchAll(/(\w+)\s+IN\s*\(\s*('[^)]*')\s*\)/g)) {
      const values = [...match[2]!.matchAll(/'([^']*)'/g)].map((m) => m[1]!);
      found.set(`${file}.${name}.${match[1]}`, values);
    }
  }
  return found;
}

test('every CHECK list in the session files holds exactly the values of its enum array, in order', () => {
  const found = new Map([...schemaEnums('inbound'), ...schemaEnums('outbound')]);
  expect([...found.keys()].sort()).toEqual(Object.keys(ENUM_COLUMNS).sort());
  for (const [column, values] of found) expect(values, column).toEqual([...ENUM_COLUMNS[column]!]);
});
