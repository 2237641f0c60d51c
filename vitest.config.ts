import { defineConfig } from 'vitest/config';

// Tests name their own tables and settings: a shell that exported an operator's SCRUB_TABLE_MUE
// or SCRUB_ENGINE must not change what they scrub (the workers inherit this process's
// environment). SCRUB_TEST_* (the servers CI starts) are the tests' own.
for (const key of Object.keys(process.env)) if (key.startsWith('SCRUB_') && !key.startsWith('SCRUB_TEST_')) delete process.env[key];

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // One table snapshot cache for the run: the complete code sets are parsed once, not per file.
    globalSetup: ['test/support/table-snapshots.ts'],
    testTimeout: 20_000,
    hookTimeout: 60_000,
  },
});
