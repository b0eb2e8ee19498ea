// What a test started and must stop: registered as each thing starts, undone after each test, last
// first (a server before the fake behind it).
import { afterEach } from 'vitest';

export type Cleanups = (() => Promise<unknown> | unknown)[];

/** A list the calling file fills as its tests start things; emptied and run after each test. */
export function cleanupsAfterEach(): Cleanups {
  const cleanups: Cleanups = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  return cleanups;
}
