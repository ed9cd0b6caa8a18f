import { execFile } from 'node:child_process';
import type { DiffSummary } from '../core/contract/flows.js';
import { credentialEnv, type ForgeAccess } from './forge.js';
import { diffNumstat, git } from './git.js';

/** How long the forge command may take (it talks to the forge over the network). */
const FORGE_COMMAND_TIMEOUT_MS = 120_000;
/** What of the forge command's output is kept in the flow's result. */
const OUTPUT_CHARS = 4000;

export interface PullRequestRequest {
  /** The branch pushed and proposed (a run's branch, `ao/<run id>`). */
  branch: string;
  /** The branch it should merge into, when the flow knows it (its `base_ref`). */
  base?: string;
  title: string;
  body: string;
  remote: string;
  /** The forge command as an argv array, with `{placeholder}`s. */
  command: string[];
}

export interface PullRequestOutcome {
  /** The last URL the command printed: the pull request's. */
  url?: string;
  remote: string;
  branch: string;
  output: string;
}

/** `{name}` replaced inside one argv element; an unknown placeholder stays as written. */
export function fillPlaceholders(element: string, values: Record<string, string>): string {
  return element.replace(/\{([a-z_]+)\}/g, (whole, name: string) => values[name] ?? whole);
}

/** A value a placeholder takes: never read as an option when it stands alone in an element. */
const notAnOption = (value: string): string => value.replace(/^-+/, '');

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
      // The branch was named by ao (`ao/<run id>`) and the remote checked by the flow's schema: neither can pose as an option.
      await git(projectDir, ['push', '--quiet', request.remote, `refs/heads/${request.branch}:refs/heads/${request.branch}`], credentialEnv(token));
      const values = { branch: request.branch, title: notAnOption(request.title), body: request.body, remote: request.remote, base: request.base ?? '' };
      const [program, ...args] = request.command.map((element) => fillPlaceholders(element, values));
      const env = { ...process.env, ...(token ? { GH_TOKEN: token, GITHUB_TOKEN: token } : {}) };
      const output = await new Promise<string>((resolve, reject) => {
        execFile(program!, args, { cwd: projectDir, env, timeout: FORGE_COMMAND_TIMEOUT_MS, maxBuffer: 1024 * 1024 }, (error, stdout, stderr) => {
          if (error) reject(new Error(`the pull request command ${program} failed: ${(stderr || error.message).trim().slice(-OUTPUT_CHARS)}`));
          else resolve(stdout);
        });
      });
      const url = output.match(/https?:\/\/[^\s"'<>]+/g)?.at(-1);
      return { ...(url ? { url } : {}), remote: request.remote, branch: request.branch, output: output.trim().slice(-OUTPUT_CHARS) };
    },
  };
}
