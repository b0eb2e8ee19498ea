import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Two cores: e2e files start real containers; keep parallelism modest and predictable.
    maxWorkers: 2,
    // Only e2e tests need the container engine, the agent image and the runner bundle: vitest runs a
    // project's global setup only when files of that project run, so `vitest run test/unit` needs none.
    projects: [
      { extends: true, test: { name: 'unit', include: ['test/unit/**/*.test.ts'] } },
      { extends: true, test: { name: 'integration', include: ['test/integration/**/*.test.ts'] } },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          globalSetup: ['test/harness/global-setup.ts'],
        },
      },
    ],
  },
});
