import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// Integration and end-to-end tests run once on PGlite and, when TEST_DATABASE_URL names a
// PostgreSQL server, once more on PostgreSQL (each test file creates its own database there).
const onPostgres = Boolean(process.env.TEST_DATABASE_URL);
const shared = {
  testTimeout: 60_000,
  hookTimeout: 60_000,
  pool: 'forks' as const,
  setupFiles: ['tests/helpers/setup.ts'],
};
const integration = ['tests/integration/**/*.test.ts', 'tests/e2e/**/*.test.ts'];

export default defineConfig({
  // Tests drive the SDK package's source, as tsconfig.json's `paths` does for tsc and tsx.
  resolve: {
    alias: {
      '@innominatus-queue/client': fileURLToPath(new URL('client/src/node.ts', import.meta.url)),
    },
  },
  test: {
    projects: [
      { test: { ...shared, name: 'unit', include: ['tests/unit/**/*.test.ts'] } },
      {
        test: { ...shared, name: 'pglite', include: integration, env: { TEST_BACKEND: 'pglite' } },
      },
      ...(onPostgres
        ? [
            {
              test: {
                ...shared,
                name: 'postgres',
                include: integration,
                env: { TEST_BACKEND: 'postgres' },
              },
            },
          ]
        : []),
    ],
    coverage: {
      provider: 'v8',
      include: ['server/**/*.ts', 'shared/**/*.ts', 'client/src/**/*.ts', 'client/cli/**/*.ts'],
      exclude: ['server/index.ts', 'server/db/schema.ts'],
      reporter: ['text-summary', 'text', 'html'],
    },
  },
});
