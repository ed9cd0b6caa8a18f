import { z } from 'zod';
import { parseEnv } from '../../core/config/env.js';

const TestTimeEnv = z.object({
  /**
   * How many times longer than on an idle machine the tests may wait for anything.
   * @defaultValue 1; `npm run test:stress` sets 4, since it runs the suite beside a CPU hog.
   */
  AO_TEST_TIME_SCALE: z.coerce.number().min(1, 'must be at least 1: a smaller scale cuts waits below what an idle machine needs').default(1),
});

export const timeScale = parseEnv(TestTimeEnv, process.env, 'the tests').AO_TEST_TIME_SCALE;

/**
 * Every timeout of the tests, scaled by AO_TEST_TIME_SCALE: the test and hook timeouts, each wait
 * for a run, a process line or a page element. A budget for a busy 2-core machine, never a premise:
 * waits end as soon as their condition holds, so a larger scale only makes a failing test slower.
 */
export function testTime(ms: number): number {
  return Math.round(ms * timeScale);
}

/** A scaled timeout in whole seconds, as a string, for the system's own `*_SECONDS` settings. */
export function testSeconds(seconds: number): string {
  return String(Math.ceil(seconds * timeScale));
}
