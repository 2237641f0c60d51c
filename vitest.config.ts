import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // One table snapshot cache for the run: the complete code sets are parsed once, not per file.
    globalSetup: ['test/support/table-snapshots.ts'],
    testTimeout: 20_000,
    hookTimeout: 60_000,
  },
});
