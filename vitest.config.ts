import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Each file gets its own database; files run in parallel processes.
    pool: 'forks',
    setupFiles: ['tests/helpers/setup.ts'],
    coverage: {
      provider: 'v8',
      include: ['server/**/*.ts', 'shared/**/*.ts', 'client/**/*.ts'],
      exclude: ['server/index.ts', 'server/db/schema.ts'],
      reporter: ['text-summary', 'text', 'html'],
    },
  },
});
