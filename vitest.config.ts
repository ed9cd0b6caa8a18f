import { defineConfig } from 'vitest/config';
import { testTime } from './test/support/time.js';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    // Real processes against a real Temporal server: generous budgets (scaled by AO_TEST_TIME_SCALE),
    // but tests wait on events, not time, so a passing test never waits for its budget.
    testTimeout: testTime(150_000),
    hookTimeout: testTime(180_000),
    expect: { poll: { timeout: testTime(30_000) } },
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default', './test/support/summary-reporter.ts'],
  },
});
