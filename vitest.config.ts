import { defineConfig } from 'vitest/config';
import { relinkNwcPlugin } from './server/dev/relink-nwc.js';

export default defineConfig({
  // The NWC client runs in the tests as the build links it: on the installed nostr-tools.
  plugins: [relinkNwcPlugin()],
  define: { __PAYBOUND_PROVISION__: 'null', __PAYBOUND_TARGET__: JSON.stringify('chrome') },
  test: {
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          environment: 'node',
          // Transformed by the plugins above rather than loaded by Node as it is on disk.
          server: { deps: { inline: ['@getalby/sdk'] } },
          // A hang guard, not a speed check: password hashing (600 000 PBKDF2 rounds) and the fuzz
          // runs take seconds on a busy two-core machine, past vitest's default of 5 s.
          testTimeout: 30_000,
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
