import { z } from 'zod';

/** Where a run works: a git worktree per run, the project folder itself, or an empty temporary folder. */
export const WORKSPACE_MODES = ['worktree', 'project', 'temp'] as const;
export const WorkspaceMode = z.enum(WORKSPACE_MODES);
export type WorkspaceMode = z.infer<typeof WorkspaceMode>;

/** Where a run worked and what it changed. */
export const WorkspaceSummary = z.object({
  mode: WorkspaceMode,
  dir: z.string(),
  branch: z.string().optional(),
  base_commit: z.string().optional(),
  head_commit: z.string().optional(),
  committed: z.boolean().optional(),
  removed: z.boolean().optional(),
  /** The run changed nothing and its branch was deleted (profile `keep_empty_branches`): `branch` is unset. */
  branch_deleted: z.boolean().optional(),
  diff: z
    .object({
      files_changed: z.number(),
      added: z.number(),
      removed: z.number(),
      files: z.array(z.object({ path: z.string(), added: z.number(), removed: z.number() })),
    })
    .optional(),
});
export type WorkspaceSummary = z.infer<typeof WorkspaceSummary>;
