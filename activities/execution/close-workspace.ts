import type { WorkspaceSummary } from '../../core/contract/workspace.js';
import { finishWorkspace, type Workspace } from '../workspace.js';
import type { Emit, ExecuteDependencies } from './context.js';

/**
 * Commits the run's uncommitted work to its branch (unless the profile says not to), reports the
 * diff as `file_touched` and `diff_summary`, and removes the worktree folder (unless kept).
 * A failure here is an alert: the run's own outcome stands.
 */
export async function commitAndCloseWorkspace(deps: ExecuteDependencies, runId: string, workspace: Workspace, emit: Emit): Promise<WorkspaceSummary | undefined> {
  const { config } = deps.profile;
  try {
    const outcome = await finishWorkspace(workspace, runId, {
      commit: config.commit_uncommitted !== false,
      remove: config.keep_worktree !== true,
      deleteEmptyBranch: config.keep_empty_branches !== true,
    });
    if (outcome.diff) {
      // A file no tool reported (a shell command changed it) is known from the diff alone; the others were reported already.
      for (const file of outcome.diff.files) emit('file_touched', { ...file, operation: 'changed' });
      emit('diff_summary', { ...outcome.diff, branch: outcome.branch, base_commit: outcome.base_commit, head_commit: outcome.head_commit });
    }
    return outcome;
  } catch (error) {
    emit('alert', { kind: 'workspace', message: `could not summarise the workspace: ${(error as Error).message}` });
    return undefined;
  }
}
