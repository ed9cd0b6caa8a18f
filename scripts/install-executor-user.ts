import { ensureExecutorUser } from '../activities/containment/executor-user.js';

/**
 * `npm run executor-user:install`: creates the unprivileged user a root runner runs executors as
 * (ao-executor), where it is missing. Not root: nothing to do.
 */
ensureExecutorUser().then(
  (done) => console.log(`executor-user:install: ${done}`),
  (error: unknown) => {
    console.error(`executor-user:install: ${(error as Error).message}`);
    process.exit(1);
  },
);
