import { git } from './git.js';
import { WorkspaceError } from './workspace.js';

/** Where a runner fetches a commit its clone lacks (a webhook's push or pull request head), and with what credential. */
export interface ForgeAccess {
  /** The git remote of the project dir's clone. */
  remote: string;
  /** A token the forge takes over HTTPS (GitHub: an installation or personal access token). */
  token?: string;
}

/**
 * The token as one git setting for one command, through git's environment (`GIT_CONFIG_COUNT`):
 * not in the argv (any local user can read a process's argv) and never in the repository's config,
 * which the run's worktree shares. GitHub takes `Basic x-access-token:<token>`.
 */
export function credentialEnv(token: string | undefined): NodeJS.ProcessEnv {
  if (!token) return {};
  const basic = Buffer.from(`x-access-token:${token}`).toString('base64');
  return { GIT_CONFIG_COUNT: '1', GIT_CONFIG_KEY_0: 'http.extraHeader', GIT_CONFIG_VALUE_0: `Authorization: Basic ${basic}` };
}

const resolves = (projectDir: string, ref: string): Promise<boolean> =>
  git(projectDir, ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`]).then(
    () => true,
    () => false,
  );

/**
 * Makes sure the run's base exists in the project's clone: a ref it already resolves is left
 * alone (undefined); else it is fetched from the forge remote and the fetched commit is returned.
 * A clone without that remote has nowhere to fetch from (undefined: the worktree step reports the
 * missing ref). Runs before the executor exists; the token never reaches it.
 */
export async function fetchMissingBase(projectDir: string, ref: string, forge: ForgeAccess): Promise<string | undefined> {
  if (await resolves(projectDir, ref)) return undefined;
  const hasRemote = await git(projectDir, ['remote', 'get-url', forge.remote]).then(
    () => true,
    () => false,
  );
  if (!hasRemote) return undefined;
  try {
    // The ref was checked as a GitRef at the API: it never starts with `-`, so it cannot pose as an option.
    await git(projectDir, ['fetch', '--quiet', '--no-tags', forge.remote, ref], credentialEnv(forge.token));
    return (await git(projectDir, ['rev-parse', '--verify', 'FETCH_HEAD^{commit}'])).trim();
  } catch (error) {
    throw new WorkspaceError(`cannot fetch ${ref} from ${forge.remote}: ${(error as Error).message}`);
  }
}
