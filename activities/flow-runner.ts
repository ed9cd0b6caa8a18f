import { execFile } from 'node:child_process';
import { ApplicationFailure } from '@temporalio/common';
import type { DiffSummary } from '../core/contract/flows.js';
import type { PullRequestOutcome } from '../core/contract/pull-requests.js';
import { credentialEnv, type ForgeAccess } from './forge.js';
import { diffNumstat, git } from './git.js';

/** How long the forge command may take (it talks to the forge over the network). */
const FORGE_COMMAND_TIMEOUT_MS = 120_000;
/** What of the forge command's output is kept in the flow's result. */
const OUTPUT_CHARS = 4000;

export interface PullRequestRequest {
  /** The branch pushed and proposed (a run's branch, `ao/<run id>`, or a flow's builder's). */
  branch: string;
  /** The branch it should merge into, when the flow knows it (its `base_ref`). */
  base?: string;
  title: string;
  body: string;
  remote: string;
  /** The forge command as an argv array, with `{placeholder}`s. */
  command: string[];
}

/** `{name}` replaced inside one argv element; an unknown placeholder stays as written. */
export function fillPlaceholders(element: string, values: Record<string, string>): string {
  return element.replace(/\{([a-z_]+)\}/g, (whole, name: string) => values[name] ?? whole);
}

/** A value a placeholder takes: never read as an option when it stands alone in an element. */
const notAnOption = (value: string): string => value.replace(/^-+/, '');
/** What a branch ao pushes (`ao/<run id>`) and a remote look like: nothing git or the forge command could read as an option. */
const PUSHABLE_NAME = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,199}$/;
/** The request names a branch or remote ao would not have made or taken: refused before git or the command sees it, and not retried. */
export const PULL_REQUEST_REFUSED = 'PULL_REQUEST_REFUSED';

/**
 * Runner-side steps of a flow, on the project the runner serves: the builder's whole diff, and
 * the pull request at its end. The forge token reaches git and the forge command only; no
 * executor runs here.
 */
export function createFlowRunnerActivities({ projectDir, forge }: { projectDir: string; forge: ForgeAccess }) {
  return {
    /** Files and lines changed from `base` to `head` (both commits of the project's repository). */
    async branchDiff({ base, head }: { base: string; head: string }): Promise<DiffSummary> {
      const files = await diffNumstat(projectDir, base, head);
      return { files_changed: files.length, added: files.reduce((sum, file) => sum + file.added, 0), removed: files.reduce((sum, file) => sum + file.removed, 0), files };
    },

    /** Pushes the branch to the remote, then runs the forge command (argv, placeholders filled) and reads the URL it prints. */
    async openPullRequest(request: PullRequestRequest): Promise<PullRequestOutcome> {
      const token = forge.token;
      // The branch was named by ao (`ao/<run id>`) and the remote checked by the config's schema: neither can pose as an option. Checked again here, where git runs.
      for (const [what, name] of [['branch', request.branch], ['remote', request.remote]] as const) {
        if (!PUSHABLE_NAME.test(name) || name.includes('..')) {
          throw ApplicationFailure.create({ type: PULL_REQUEST_REFUSED, message: `refused to push: ${JSON.stringify(name)} is not a ${what} name ao makes or takes`, nonRetryable: true });
        }
      }
      await git(projectDir, ['push', '--quiet', request.remote, `refs/heads/${request.branch}:refs/heads/${request.branch}`], credentialEnv(token));
      // Title, body and base come from people (a prompt, a base_ref): none may start an element with a dash.
      const values = { branch: request.branch, title: notAnOption(request.title), body: notAnOption(request.body), remote: request.remote, base: notAnOption(request.base ?? '') };
      const [program, ...args] = request.command.map((element) => fillPlaceholders(element, values));
      const env = { ...process.env, ...(token ? { GH_TOKEN: token, GITHUB_TOKEN: token } : {}) };
      // What the command prints is kept in the run's state: a command that echoes the token does not put it there.
      const hidden = (text: string): string => (token ? text.split(token).join('[redacted]') : text);
      const output = await new Promise<string>((resolve, reject) => {
        execFile(program!, args, { cwd: projectDir, env, timeout: FORGE_COMMAND_TIMEOUT_MS, maxBuffer: 1024 * 1024 }, (error, stdout, stderr) => {
          if (error) reject(new Error(`the pull request command ${program} failed: ${hidden((stderr || error.message).trim()).slice(-OUTPUT_CHARS)}`));
          else resolve(hidden(stdout));
        });
      });
      const url = output.match(/https?:\/\/[^\s"'<>]+/g)?.at(-1);
      return { ...(url ? { url } : {}), remote: request.remote, branch: request.branch, output: output.trim().slice(-OUTPUT_CHARS) };
    },
  };
}
