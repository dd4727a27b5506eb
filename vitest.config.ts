import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 120_000,
    projects: [
      { extends: true, test: { name: 'unit', include: ['test/unit/**/*.test.ts'] } },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/helpers/globalSetup.ts'],
          // One PostgreSQL and one broker on a 2-core machine: two files at a time overlaps waits without starving
          // Kafka's group joins.
          maxWorkers: 2,
          // Projects with different worker limits must run as separate groups: unit tests first, then these.
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
