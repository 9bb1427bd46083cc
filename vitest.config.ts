import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// Integration and end-to-end tests run once on PGlite and, when TEST_DATABASE_URL names a
// PostgreSQL server, once more on PostgreSQL (each test file creates its own database there).
const onPostgres = Boolean(process.env.TEST_DATABASE_URL);
// Tests drive the SDK package's source, as tsconfig.json's `paths` does for tsc and tsx (each
// project needs it: inline projects do not inherit the root's `resolve`).
const resolve = {
  alias: {
    '@innominatus-queue/client': fileURLToPath(new URL('client/src/node.ts', import.meta.url)),
  },
};
const shared = {
  testTimeout: 60_000,
  hookTimeout: 60_000,
  pool: 'forks' as const,
  setupFiles: ['tests/helpers/setup.ts'],
};
const integration = ['tests/integration/**/*.test.ts', 'tests/e2e/**/*.test.ts'];

export default defineConfig({
  test: {
    // Most files wait on processes, browsers and databases rather than on the CPU: two at a time
    // on a two-core machine keeps the whole run well inside CI's budget.
    maxWorkers: 2,
    projects: [
      { resolve, test: { ...shared, name: 'unit', include: ['tests/unit/**/*.test.ts'] } },
      {
        resolve,
        test: { ...shared, name: 'pglite', include: integration, env: { TEST_BACKEND: 'pglite' } },
      },
      ...(onPostgres
        ? [
            {
              resolve,
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
