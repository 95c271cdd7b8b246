import { defineConfig } from 'vitest/config';

// Two groups: `unit` needs no servers; `integration` (*.int.test.ts) talks to the real local Kafka
// and Cassandra, which its global setup brings up (and fails loudly, with the server's log, if it cannot).
export default defineConfig({
  test: {
    // Two cores: Kafka, Cassandra and the processes under test already compete for them.
    maxWorkers: 2,
    minWorkers: 1,
    projects: [
      {
        test: {
          name: 'unit',
          include: ['**/*.test.ts'],
          exclude: ['**/*.int.test.ts', 'node_modules/**'],
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['**/*.int.test.ts'],
          exclude: ['node_modules/**'],
          globalSetup: ['test/integration-setup.ts'],
          testTimeout: 180_000,
          hookTimeout: 300_000,
          pool: 'forks',
        },
      },
    ],
  },
});
