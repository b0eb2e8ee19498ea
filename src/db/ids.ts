import { randomBytes } from 'node:crypto';

/** Prefixed random ids (`ag_…`, `ses_…`): readable in logs, unguessable, sortable by nothing. */
export function newId(prefix: string): string {
  return `${prefix}_${randomBytes(12).toString('base64url')}`;
}
