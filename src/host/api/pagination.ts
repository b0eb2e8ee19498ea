// Cursor pagination (DESIGN §8): `limit` (default 50, at most 200) and an opaque `cursor` naming the
// last item of the previous page; keyset on (created_at, id), so pages stay right while rows are added.
import { z } from 'zod';

export const DEFAULT_LIMIT = 50;
export const MAX_LIMIT = 200;

export const pageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(MAX_LIMIT).default(DEFAULT_LIMIT),
  cursor: z.string().max(500).optional(),
});

export interface Position {
  createdAt: string;
  id: string;
}

const position = z.tuple([z.string().min(1), z.string().min(1)]);

export function encodeCursor(at: Position): string {
  return Buffer.from(JSON.stringify([at.createdAt, at.id])).toString('base64url');
}

/** undefined for a cursor this API did not make. */
export function decodeCursor(cursor: string): Position | undefined {
  try {
    const [createdAt, id] = position.parse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')));
    return { createdAt, id };
  } catch {
    return undefined;
  }
}
