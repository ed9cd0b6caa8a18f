import path from 'node:path';
import { grantReadTree, grantSearch, grantTree, type ExecutorUser } from '../containment/executor-user.js';
import type { Workspace } from '../workspace.js';

/**
 * Opens a run's workspace to the executor user, and nothing more: search on the folders above it,
 * read and write inside it. In `project` mode the project's `.git` and ao's own folder stay the
 * runner's (tokens, spool and git config an executor could turn against the runner).
 */
export async function openToExecutor(user: ExecutorUser, workspace: Workspace, dataDir: string): Promise<void> {
  await grantSearch(user, path.dirname(workspace.dir));
  const except = workspace.mode === 'project' ? ['.git', '.ao', ...topLevelName(workspace.dir, dataDir)] : [];
  await grantTree(user, workspace.dir, except);
}

/** Lets the executor user run a synced script: search down to its folder, read inside it. */
export async function openScriptToExecutor(user: ExecutorUser, scriptDir: string): Promise<void> {
  await grantSearch(user, path.dirname(scriptDir));
  await grantReadTree(user, scriptDir);
}

/** The name of the entry of `dir` that holds `inner`, if `inner` is inside `dir`. */
function topLevelName(dir: string, inner: string): string[] {
  const relative = path.relative(dir, inner);
  if (!relative || relative.startsWith('..') || path.isAbsolute(relative)) return [];
  return [relative.split(path.sep)[0]!];
}
