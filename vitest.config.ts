import { defineConfig } from 'vitest/config';

export default defineConfig({
  define: { __PAYBOUND_PROVISION__: 'null', __PAYBOUND_TARGET__: JSON.stringify('chrome') },
  test: {
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          // The suites that need a PostgreSQL server run in unit-pg only.
          exclude: ['test/unit/**/*.pg.test.ts'],
          environment: 'node',
          // Transformed by the plugins above rather than loaded by Node as it is on disk.
          server: { deps: { inline: ['@getalby/sdk'] } },
          // A hang guard, not a speed check: password hashing (600 000 PBKDF2 rounds) and the fuzz
          // runs take seconds on a busy two-core machine, past vitest's default of 5 s.
          testTimeout: 30_000,
          // Also a hang guard: suites that start an embedded database (PGlite) in beforeAll.
          hookTimeout: 30_000,
        },
      },
      {
        // The card service's and the review desk's suites again, on a PostgreSQL server (one
        // throwaway cluster per run from Debian's binaries), and the tests of several instances.
        extends: true,
        test: {
          name: 'unit-pg',
          include: [
            'test/unit/card/*.test.ts',
            'test/unit/merchant/review*.test.ts',
            'test/unit/merchant/plans-store.test.ts',
            'test/unit/merchant/mpp-card.test.ts',
            'test/unit/sql/*.test.ts',
          ],
          // The embedded engine's own files and locks.
          exclude: ['test/unit/card/durability.test.ts'],
          environment: 'node',
          globalSetup: ['test/unit/harness/postgres-setup.ts'],
          testTimeout: 30_000,
          hookTimeout: 30_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['test/e2e/harness/global-setup.ts'],
          // One browser at a time: these machines have two cores.
          fileParallelism: false,
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'e2e-firefox',
          include: ['test/e2e-firefox/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['test/e2e-firefox/harness/global-setup.ts'],
          fileParallelism: false,
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
