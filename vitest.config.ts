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
      {
        extends: true,
        test: {
          name: 'faults',
          include: ['test/faults/**/*.test.ts'],
          globalSetup: ['test/helpers/globalSetup.ts'],
          // Each scenario stops, kills or starves something (a private broker, a private PostgreSQL, relay processes)
          // and measures CPU and lock times: one file at a time, so scenarios never skew each other's numbers.
          maxWorkers: 1,
          sequence: { groupOrder: 2 },
          // A scenario runs writers for 30-90 s around its faults, then drains and consumes everything.
          testTimeout: 300_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});
