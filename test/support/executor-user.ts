import path from 'node:path';
import { grantSearch, grantTree, resolveExecutorUser, type ExecutorUser } from '../../activities/containment/executor-user.js';

/**
 * The tests run as root, so runners run executors as the unprivileged executor user. What a test
 * hands an executor outside its workspace (a gate file, a CLI's home) must be where that user can
 * look, as a real deployment's would be.
 */
let user: Promise<ExecutorUser | undefined> | undefined;
export const executorUser = (): Promise<ExecutorUser | undefined> => (user ??= resolveExecutorUser(undefined));

/** Lets the executor user reach `dir` (search on the folders above it). */
export async function reachableByExecutor(dir: string): Promise<void> {
  const found = await executorUser();
  if (found) await grantSearch(found, dir);
}

/** Makes `dir` and everything in it the executor user's, and reachable: a home an executor writes to. */
export async function ownedByExecutor(dir: string): Promise<void> {
  const found = await executorUser();
  if (!found) return;
  await reachableByExecutor(path.dirname(dir));
  // The runner's own grant without ACLs: the user becomes the owner of the tree.
  await grantTree(found, dir, [], { acl: false });
}
