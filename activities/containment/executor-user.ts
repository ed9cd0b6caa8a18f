import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * Executors are untrusted code: a runner running as root runs them as this unprivileged user
 * (`--executor-user`), so they cannot read the runner's files or its processes' environments, nor
 * leave their cgroup. The install step creates it (`npm run executor-user:install`).
 */
export const DEFAULT_EXECUTOR_USER = 'ao-executor';
/** Its home, where the agent CLIs keep their settings and sessions across runs. */
export const DEFAULT_EXECUTOR_HOME = '/var/lib/ao-executor';
/** Naming `root` keeps executors as root: the explicit, documented opt-out. */
export const ROOT_USER = 'root';

export interface ExecutorUser {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

export class ExecutorUserError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ExecutorUserError';
  }
}

/** The passwd entry of `name`, or undefined when there is none. */
export async function lookUpUser(name: string): Promise<ExecutorUser | undefined> {
  if (!/^[a-z_][a-z0-9_-]{0,31}$/.test(name)) throw new ExecutorUserError(`"${name}" is not a valid user name`);
  try {
    const { stdout } = await run('getent', ['passwd', name]);
    const [, , uid, gid, , home] = stdout.trim().split(':');
    return { name, uid: Number(uid), gid: Number(gid), home: home ?? '/' };
  } catch {
    return undefined;
  }
}

const CREATE_HINT = `create it with \`npm run executor-user:install\` (useradd --system --user-group --create-home --home-dir ${DEFAULT_EXECUTOR_HOME} --shell /usr/sbin/nologin ${DEFAULT_EXECUTOR_USER})`;

/**
 * The user this runner runs executors as, or undefined for its own user. As root it is
 * `requested` (default `ao-executor`), which must exist and not be root, unless `root` is asked
 * for explicitly. A runner that is not root cannot change user: it refuses an executor user other
 * than its own.
 */
export async function resolveExecutorUser(requested: string | undefined, currentUid = process.getuid?.() ?? -1): Promise<ExecutorUser | undefined> {
  if (currentUid !== 0) {
    if (requested === undefined) return undefined;
    const user = await lookUpUser(requested);
    if (user?.uid === currentUid) return undefined;
    throw new ExecutorUserError(`--executor-user ${requested}: only a runner running as root can run executors as another user; this one runs as uid ${currentUid}`);
  }
  const name = requested ?? DEFAULT_EXECUTOR_USER;
  if (name === ROOT_USER) return undefined;
  const user = await lookUpUser(name);
  if (!user) throw new ExecutorUserError(`the runner runs as root, so executors run as the unprivileged user "${name}", which does not exist: ${name === DEFAULT_EXECUTOR_USER ? CREATE_HINT : 'create it, or name another with --executor-user'} (--executor-user root keeps them as root, unsafe)`);
  if (user.uid === 0) throw new ExecutorUserError(`--executor-user ${name} has uid 0: executors would be root; name an unprivileged user, or root itself to choose that explicitly`);
  return user;
}

/**
 * What runs a command as the user: real and effective ids, no supplementary groups (root's
 * included) and no way back up through setuid programs. An argv prefix; the command follows.
 */
export const runAsPrefix = (user: ExecutorUser): string[] => [
  'setpriv',
  `--reuid=${user.uid}`,
  `--regid=${user.gid}`,
  '--clear-groups',
  '--no-new-privs',
  '--',
];

/** The identity variables of the user's environment. */
export const userEnvironment = (user: ExecutorUser): NodeJS.ProcessEnv => ({ HOME: user.home, USER: user.name, LOGNAME: user.name });

/** Whether setfacl is here (Debian package "acl"); without it, grants fall back to owner and mode bits. */
let aclTool: Promise<boolean> | undefined;
export const hasSetfacl = (): Promise<boolean> =>
  (aclTool ??= run('setfacl', ['--version']).then(
    () => true,
    () => false,
  ));

const setfacl = async (args: string[]): Promise<void> => {
  try {
    await run('setfacl', args);
  } catch (error) {
    const message = (error as { stderr?: string }).stderr?.trim() || (error as Error).message;
    throw new ExecutorUserError(`cannot give the executor user access (setfacl ${args.slice(0, -1).join(' ')}): ${message}`);
  }
};

/** The grants below without ACLs: the user owns the tree; folders above it get search for others. */
export interface GrantOptions {
  /** Use ACLs (default: where setfacl is installed). */
  acl?: boolean;
}
const useAcl = async (options: GrantOptions): Promise<boolean> => options.acl ?? (await hasSetfacl());

/**
 * Lets the user reach `dir`: search (x, not listing) on it and every folder above it that others
 * may not search, as an ACL entry so nothing else about them changes (without ACLs: search for
 * others, o+x).
 */
export async function grantSearch(user: ExecutorUser, dir: string, options: GrantOptions = {}): Promise<void> {
  const closed: string[] = [];
  for (let current = path.resolve(dir); ; current = path.dirname(current)) {
    const key = `${user.uid}:${current}`;
    if (!searchable.has(key)) {
      const stat = await fs.stat(current);
      if (!(stat.mode & 0o001) && stat.uid !== user.uid) closed.push(current);
      searchable.add(key);
    }
    if (current === path.dirname(current)) break;
  }
  if (!closed.length) return;
  if (await useAcl(options)) {
    // An entry the user has already (rwX on a project opened to it) is never narrowed to search only.
    const entries = await userEntries(user, closed);
    const missing = closed.filter((folder) => !entries.get(folder)?.includes('x'));
    if (missing.length) await setfacl(['-m', `u:${user.uid}:x`, ...missing]);
    return;
  }
  for (const folder of closed) await fs.chmod(folder, ((await fs.stat(folder)).mode & 0o7777) | 0o001);
}
/** Folders already made searchable: each run's workspace path is walked once, not checked again. */
const searchable = new Set<string>();

/** The permissions (`rwx`, `--x`, …) of the user's own ACL entry on each path that has one. */
async function userEntries(user: ExecutorUser, paths: string[]): Promise<Map<string, string>> {
  const { stdout } = await run('getfacl', ['--absolute-names', '--numeric', '--', ...paths]);
  const entries = new Map<string, string>();
  let file: string | undefined;
  for (const line of stdout.split('\n')) {
    // getfacl writes unusual characters of a path (a space) as octal escapes.
    if (line.startsWith('# file: ')) file = line.slice('# file: '.length).replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
    const entry = new RegExp(`^user:${user.uid}:([rwx-]{3})`).exec(line);
    if (file && entry) entries.set(file, entry[1]!);
  }
  return entries;
}

/** The entries of `dir` (not `dir` itself), depth first; links are listed, never followed. */
async function entriesUnder(dir: string): Promise<string[]> {
  const entries = await fs.readdir(dir, { recursive: true, withFileTypes: true });
  return entries.map((entry) => path.join(entry.parentPath, entry.name));
}

/**
 * Gives the user read and write on `dir` and everything in it (and on what is created in it
 * later), except the top-level entries named in `except` (a project's `.git`, the runner's data
 * folder), which stay the runner's. Without ACLs the user becomes their owner.
 */
export async function grantTree(user: ExecutorUser, dir: string, except: string[] = [], options: GrantOptions = {}): Promise<void> {
  const top = (await fs.readdir(dir)).filter((name) => !except.includes(name)).map((name) => path.join(dir, name));
  if (await useAcl(options)) {
    const entry = `u:${user.uid}:rwX,d:u:${user.uid}:rwX`;
    await setfacl(['-m', entry, dir]);
    // -P: links are not followed, so a link planted in the tree cannot extend the grant beyond it.
    if (top.length) await setfacl(['-R', '-P', '-m', entry, ...top]);
    return;
  }
  await fs.lchown(dir, user.uid, user.gid);
  for (const item of top) {
    await fs.lchown(item, user.uid, user.gid);
    const stat = await fs.lstat(item);
    if (stat.isDirectory()) for (const inner of await entriesUnder(item)) await fs.lchown(inner, user.uid, user.gid);
  }
}

/** Gives the user read (and run) on `dir` and everything in it: a synced script's folder. */
export async function grantReadTree(user: ExecutorUser, dir: string, options: GrantOptions = {}): Promise<void> {
  if (await useAcl(options)) return setfacl(['-R', '-P', '-m', `u:${user.uid}:rX`, dir]);
  for (const item of [dir, ...(await entriesUnder(dir))]) {
    const stat = await fs.lstat(item);
    if (stat.isSymbolicLink()) continue;
    const readable = stat.isDirectory() || stat.mode & 0o100 ? 0o005 : 0o004;
    await fs.chmod(item, (stat.mode & 0o7777) | readable);
  }
}

/** Makes `file` (a FIFO the executor opens) the user's. */
export const giveTo = (user: ExecutorUser, file: string): Promise<void> => fs.chown(file, user.uid, user.gid);

/**
 * The install step: creates the executor user where the runner will run as root and it is
 * missing. Answers what it did, for the installer to print.
 */
export async function ensureExecutorUser(name = DEFAULT_EXECUTOR_USER): Promise<string> {
  if (process.getuid?.() !== 0) return `not root: executors run as this user, no executor user is needed`;
  const existing = await lookUpUser(name);
  if (existing) return `executor user ${name} (uid ${existing.uid}) exists`;
  await run('useradd', ['--system', '--user-group', '--create-home', '--home-dir', DEFAULT_EXECUTOR_HOME, '--shell', '/usr/sbin/nologin', name]);
  await fs.chmod(DEFAULT_EXECUTOR_HOME, 0o700);
  return `created the executor user ${name} with home ${DEFAULT_EXECUTOR_HOME}`;
}
