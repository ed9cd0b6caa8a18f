import { z } from 'zod';

/**
 * Pull requests: a flow (`Flow.pull_request`) or a single run (its agent's `pull_request`) can end
 * by pushing its branch and running a forge command on its runner (`openPullRequest`,
 * activities/flow-runner.ts). One shape for both.
 */

/** A `{placeholder}` of a pull request command: replaced inside each argv element, never through a shell. */
export const PULL_REQUEST_PLACEHOLDERS = ['branch', 'title', 'body', 'remote', 'base'] as const;
const GitRemote = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'a git remote name');

/**
 * How work ends with a pull request: its branch pushed to `remote`, then `command` run on the
 * runner (an argv array; `{branch}`, `{title}`, `{body}`, `{remote}`, `{base}` replaced per
 * element) with the runner's forge token in its environment. The URL it prints is recorded.
 */
export const PullRequestConfig = z
  .object({
    /** @defaultValue `origin` */
    remote: GitRemote.default('origin'),
    command: z.array(z.string().min(1).max(2000)).min(1).max(50),
  })
  .strict()
  .meta({ id: 'PullRequestConfig' });
export type PullRequestConfig = z.infer<typeof PullRequestConfig>;

/** What opening one gave: the last URL the forge command printed (the pull request's), and its output. */
export const PullRequestOutcome = z.object({ url: z.string().optional(), remote: z.string(), branch: z.string(), output: z.string() }).meta({ id: 'PullRequestOutcome' });
export type PullRequestOutcome = z.infer<typeof PullRequestOutcome>;
