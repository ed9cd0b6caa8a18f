import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { isRunId } from '../core/contract/names.js';
import type { WorkspaceMode, WorkspaceSummary } from '../core/contract/workspace.js';
import { diffNumstat, git, isGitRepository } from './git.js';

export interface Workspace {
  mode: WorkspaceMode;
  dir: string;
  branch?: string;
  base_commit?: string;
  /** The worktree was already there: a resumed run continues in it. */
  reused?: boolean;
}

/**
 * `committed`: uncommitted work was committed to the run's branch; `removed`: the worktree folder is
 * gone; `branch_deleted`: the run changed nothing, and its branch went with the folder.
 */
export type WorkspaceOutcome = WorkspaceSummary;

export class WorkspaceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WorkspaceError';
  }
}

export const worktreesDir = (projectDir: string): string => path.join(projectDir, '.ao', 'worktrees');
export const runBranch = (runId: string): string => `ao/${runId}`;
/** A run's worktree is `<project>/.ao/worktrees/<session or run id>`. */
const projectOf = (worktree: string): string => path.dirname(path.dirname(path.dirname(worktree)));

/**
 * git in a run's worktree, with its git dir named rather than found: the executor may rewrite the
 * worktree's `.git` file (it owns the folder), and a runner that followed it could be led to a
 * repository whose config runs commands (core.fsmonitor, hooks) as the runner. The worktree's
 * admin folder in the project's own git dir is the runner's, never the executor's.
 */
async function worktreeGit(worktree: string, args: string[]): Promise<string> {
  const common = (await git(projectOf(worktree), ['rev-parse', '--path-format=absolute', '--git-common-dir'])).trim();
  return git(worktree, ['--git-dir', path.join(common, 'worktrees', path.basename(worktree)), '--work-tree', worktree, ...args]);
}

/** The mode a run works in: the profile's or agent's choice, else a worktree for git projects. */
export async function chooseMode(projectDir: string, configured: WorkspaceMode | undefined): Promise<WorkspaceMode> {
  if (configured !== undefined) {
    if (configured === 'worktree' && !(await isGitRepository(projectDir))) {
      throw new WorkspaceError(`workspace_mode worktree needs a git repository, and ${projectDir} is not the top folder of one`);
    }
    return configured;
  }
  return (await isGitRepository(projectDir)) ? 'worktree' : 'project';
}

/** Keeps ao's folders out of the project's own `git status`. */
async function excludeAoFolder(projectDir: string): Promise<void> {
  const exclude = path.join((await git(projectDir, ['rev-parse', '--absolute-git-dir'])).trim(), 'info', 'exclude');
  const current = await fs.readFile(exclude, 'utf8').catch(() => '');
  if (!current.split('\n').includes('/.ao/')) {
    await fs.mkdir(path.dirname(exclude), { recursive: true });
    await fs.appendFile(exclude, `${current && !current.endsWith('\n') ? '\n' : ''}/.ao/\n`);
  }
}

/**
 * Opens a workspace folder to the executor user. Called on the folder before anything is checked
 * out into it, so what git writes there inherits the grant rather than being walked afterwards.
 */
export type OpenWorkspace = (workspace: Workspace) => Promise<void>;

/** What a worktree run needs besides its mode: where to branch from, and which folder it may share. */
export interface WorktreeOptions {
  baseRef?: string;
  /**
   * The folder's name under `.ao/worktrees/`: a session's runs share one path (one after the other),
   * so what a resumed executor remembers of its files keeps working. Defaults to the run id.
   */
  key?: string;
  /** Asks Temporal whether a run has ended: a session's folder left by an ended run is taken over. */
  isFinished?: (runId: string) => Promise<boolean>;
}

/** The worktree-level config key naming the run whose worktree a folder is. */
const OWNER_KEY = 'ao.run';
/** The worktree-level config key of the commit the run started from. */
const BASE_KEY = 'ao.base';

/** The run whose worktree `dir` is: its own record, or, for worktrees made before it, the folder's name. */
async function worktreeOwner(dir: string): Promise<string | undefined> {
  const recorded = (await worktreeGit(dir, ['config', '--worktree', '--get', OWNER_KEY]).catch(() => '')).trim();
  if (recorded) return recorded;
  return isRunId(path.basename(dir)) ? path.basename(dir) : undefined;
}

/**
 * Prepares the folder a run works in. A worktree that already exists for the run (its runner
 * crashed and came back) is reused as it is, so the resumed executor finds its work. A session's
 * folder that an ended run left is finished (its work committed to that run's branch) and taken
 * over; one a live run of the same session holds is not shared: this run gets its own.
 */
export async function prepareWorkspace(projectDir: string, runId: string, mode: WorkspaceMode, options: WorktreeOptions = {}, open: OpenWorkspace = () => Promise.resolve()): Promise<Workspace> {
  if (mode === 'project') {
    await open({ mode, dir: projectDir });
    return { mode, dir: projectDir };
  }
  if (mode === 'temp') {
    const temp: Workspace = { mode, dir: await fs.mkdtemp(path.join(os.tmpdir(), `ao-run-${runId.slice(0, 8)}-`)) };
    await open(temp);
    return temp;
  }
  const branch = runBranch(runId);
  const folders = [...new Set([options.key ?? runId, runId])].map((name) => path.join(worktreesDir(projectDir), name));
  let dir: string | undefined;
  for (const candidate of folders) {
    const taken = await takeFolder(candidate, runId, options.isFinished);
    if (taken === 'reuse') {
      const base = (await worktreeGit(candidate, ['config', '--worktree', '--get', BASE_KEY]).catch(() => '')).trim();
      const reused: Workspace = { mode, dir: candidate, branch, reused: true, ...(base ? { base_commit: base } : {}) };
      await open(reused);
      return reused;
    }
    if (taken === 'free') {
      dir = candidate;
      break;
    }
  }
  if (!dir) throw new WorkspaceError(`no free worktree folder for run ${runId}: ${folders.join(', ')} are in use`);
  try {
    await excludeAoFolder(projectDir);
    const base = (await git(projectDir, ['rev-parse', '--verify', `${options.baseRef ?? 'HEAD'}^{commit}`])).trim();
    await fs.mkdir(worktreesDir(projectDir), { recursive: true });
    // A session's folder was used before: git must not keep the old worktree's admin entry.
    await git(projectDir, ['worktree', 'prune']);
    // git checks out into an existing empty folder: opened first, what it writes inherits the grant.
    await fs.mkdir(dir);
    await open({ mode, dir, branch });
    await git(projectDir, ['worktree', 'add', '-b', branch, dir, base]);
    // Remembered in the worktree so a resumed run diffs against the same base, and knows whose folder it is.
    await git(projectDir, ['config', 'extensions.worktreeConfig', 'true']);
    await worktreeGit(dir, ['config', '--worktree', BASE_KEY, base]);
    await worktreeGit(dir, ['config', '--worktree', OWNER_KEY, runId]);
    return { mode, dir, branch, base_commit: base };
  } catch (error) {
    // An empty folder left here would be taken for this run's worktree by a retried attempt.
    await fs.rmdir(dir).catch(() => undefined);
    throw new WorkspaceError(`cannot create the run's worktree: ${(error as Error).message}`);
  }
}

/** Whether a worktree folder is this run's (`reuse`), can be made (`free`), or belongs to a live run. */
async function takeFolder(dir: string, runId: string, isFinished?: (runId: string) => Promise<boolean>): Promise<'reuse' | 'free' | 'busy'> {
  if (!(await fs.stat(dir).catch(() => undefined))) return 'free';
  const owner = await worktreeOwner(dir);
  if (owner === runId || (owner === undefined && path.basename(dir) === runId)) return 'reuse';
  if (!owner || !isFinished || !(await isFinished(owner))) return 'busy';
  const base = (await worktreeGit(dir, ['config', '--worktree', '--get', BASE_KEY]).catch(() => '')).trim();
  const left = await finishWorkspace({ mode: 'worktree', dir, branch: runBranch(owner), ...(base ? { base_commit: base } : {}) }, owner, { commit: true, remove: true }).catch(() => undefined);
  return left?.removed ? 'free' : 'busy';
}

/**
 * After the executor ends: commits what it left uncommitted to the run's branch (unless the policy
 * keeps it), summarises the diff against the base, and removes the worktree folder, and the branch
 * only when asked to and the run changed nothing. A worktree whose work is not all on the branch is kept.
 */
export async function finishWorkspace(workspace: Workspace, runId: string, options: { commit: boolean; remove: boolean; deleteEmptyBranch?: boolean }): Promise<WorkspaceOutcome> {
  if (workspace.mode === 'temp') {
    await fs.rm(workspace.dir, { recursive: true, force: true });
    return { mode: workspace.mode, dir: workspace.dir, removed: true };
  }
  if (workspace.mode !== 'worktree' || !workspace.branch || !workspace.base_commit) return { mode: workspace.mode, dir: workspace.dir };

  const inWorktree = (args: string[]): Promise<string> => worktreeGit(workspace.dir, args);
  const dirty = (await inWorktree(['status', '--porcelain'])).trim() !== '';
  let committed = false;
  if (dirty && options.commit) {
    await inWorktree(['add', '-A']);
    await inWorktree(['-c', 'user.name=ao', '-c', 'user.email=ao@localhost', 'commit', '--no-verify', '-q', '-m', `ao: work of run ${runId}`]);
    committed = true;
  }
  const head = (await inWorktree(['rev-parse', 'HEAD'])).trim();
  const files = await diffNumstat(projectOf(workspace.dir), workspace.base_commit, head);
  const stillDirty = dirty && !committed;
  let removed = false;
  if (options.remove && !stillDirty) {
    await git(projectOf(workspace.dir), ['worktree', 'remove', workspace.dir]);
    removed = true;
  }
  // Nothing on the branch but its base, and its folder gone: a branch that would only be clutter.
  const deleted = removed && options.deleteEmptyBranch === true && head === workspace.base_commit;
  if (deleted) await git(projectOf(workspace.dir), ['branch', '-D', workspace.branch]);
  return {
    mode: workspace.mode,
    dir: workspace.dir,
    ...(deleted ? { branch_deleted: true } : { branch: workspace.branch }),
    base_commit: workspace.base_commit,
    head_commit: head,
    committed,
    removed,
    diff: {
      files_changed: files.length,
      added: files.reduce((sum, file) => sum + file.added, 0),
      removed: files.reduce((sum, file) => sum + file.removed, 0),
      files,
    },
  };
}

/**
 * On runner start: worktrees of runs that have ended get their leftover work committed to their
 * branch and their folder removed. `isFinished` asks Temporal about a run.
 */
export async function pruneStaleWorktrees(projectDir: string, isFinished: (runId: string) => Promise<boolean>): Promise<string[]> {
  if (!(await isGitRepository(projectDir))) return [];
  const entries = await fs.readdir(worktreesDir(projectDir)).catch(() => [] as string[]);
  const pruned: string[] = [];
  for (const entry of entries) {
    const dir = path.join(worktreesDir(projectDir), entry);
    const runId = await worktreeOwner(dir);
    if (!runId || !(await isFinished(runId))) continue;
    const base = (await worktreeGit(dir, ['config', '--worktree', '--get', BASE_KEY]).catch(() => '')).trim();
    await finishWorkspace({ mode: 'worktree', dir, branch: runBranch(runId), ...(base ? { base_commit: base } : {}) }, runId, { commit: true, remove: true }).catch(() => undefined);
    pruned.push(runId);
  }
  await git(projectDir, ['worktree', 'prune']).catch(() => undefined);
  return pruned;
}
