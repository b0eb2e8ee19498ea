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

/** A list answer: one page of items and the cursor of the next page (null on the last). */
export function pageOf<T extends z.ZodType>(item: T) {
  return z.object({ items: z.array(item), nextCursor: z.string().nullable() });
}

/**
 * One page of a list held in memory (lists an operator keeps small: groups, wirings, users, tasks),
 * ordered by (createdAt, id), oldest first: a row added while paging lands after every cursor, so
 * pages already read do not shift. `undefined` for a cursor this API did not make.
 */
export function keysetPage<T>(
  items: readonly T[],
  positionOf: (item: T) => Position,
  query: { cursor?: string | undefined; limit: number },
): { items: T[]; nextCursor: string | null } | undefined {
  const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
  if (query.cursor !== undefined && !after) return undefined;
  const sorted = items.map((item) => ({ item, at: positionOf(item) })).sort((a, b) => compare(a.at, b.at));
  const rest = after ? sorted.filter(({ at }) => compare(at, after) > 0) : sorted;
  const page = rest.slice(0, query.limit);
  const last = page.at(-1);
  return {
    items: page.map(({ item }) => item),
    nextCursor: rest.length > query.limit && last ? encodeCursor(last.at) : null,
  };
}

function compare(a: Position, b: Position): number {
  if (a.createdAt !== b.createdAt) return a.createdAt < b.createdAt ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}
