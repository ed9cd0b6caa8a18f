import path from 'node:path';
import { grantReadTree, grantSearch, grantTree, type ExecutorUser } from '../containment/executor-user.js';
import type { ExecutorWritable } from '../executors/contract.js';
import type { Workspace } from '../workspace.js';

/**
 * Opens a run's workspace to the executor user, and nothing more: search on the folders above it,
 * read and write inside it. In `project` mode the project's `.git` and ao's own folder stay the
 * runner's (tokens, spool and git config an executor could turn against the runner).
 */
export async function openToExecutor(user: ExecutorUser, workspace: Pick<Workspace, 'mode' | 'dir'>, dataDir: string): Promise<void> {
  await grantSearch(user, path.dirname(workspace.dir));
  if (workspace.mode !== 'project') return grantTree(user, workspace.dir);
  await openLastingTree(user, workspace.dir, ['.git', '.ao', ...topLevelName(workspace.dir, dataDir)]);
}

/**
 * Gives the executor user read and write on a folder that outlives runs (a `project`-mode
 * project, a CLI's settings home), walked once per runner process: what is created in it later
 * inherits the grant, so later runs need not walk it again as it grows.
 */
export async function openLastingTree(user: ExecutorUser, dir: string, except: string[] = []): Promise<void> {
  const key = `${user.uid}:${dir}`;
  if (openTrees.has(key)) return;
  await grantTree(user, dir, except);
  openTrees.add(key);
}
const openTrees = new Set<string>();

/** Gives the executor user the folders its adapter says it writes outside the workspace (`ExecutorAdapter.executorWrites`). */
export async function openExecutorWrites(user: ExecutorUser, writable: ExecutorWritable[]): Promise<void> {
  for (const { dir, except, lasting } of writable) await (lasting ? openLastingTree(user, dir, except) : grantTree(user, dir, except));
}

/**
 * Lets the executor user read a file or folder (and what is in it): a synced script's folder, a
 * policy file. Search down to it, read on it.
 */
export async function openReadOnlyToExecutor(user: ExecutorUser, target: string): Promise<void> {
  await grantSearch(user, path.dirname(target));
  await grantReadTree(user, target);
}

/** The name of the entry of `dir` that holds `inner`, if `inner` is inside `dir`. */
function topLevelName(dir: string, inner: string): string[] {
  const relative = path.relative(dir, inner);
  if (!relative || relative.startsWith('..') || path.isAbsolute(relative)) return [];
  return [relative.split(path.sep)[0]!];
}
