import type { ShellCommand } from './shell-words.js';

/**
 * What the policy judge matches with: the built-in approval categories, command patterns against
 * the shell reader's simple commands, and workspace paths against globs, all lexical and pure.
 */

// ── built-in categories ──────────────────────────────────────────────────────

export const MERGE_PATTERNS = ['git merge', 'git rebase', 'git pull', 'git push', 'gh pr merge'];
export const DEPS_ADD_PATTERNS = [
  'npm install', 'npm i', 'npm add', 'npm ci', 'npx',
  'pnpm add', 'pnpm install', 'pnpm i', 'pnpm dlx',
  'yarn add', 'yarn install', 'yarn dlx',
  'bun add', 'bun install', 'bun i', 'bunx',
  'pip install', 'pip3 install', 'python -m pip install', 'python3 -m pip install', 'pipx install',
  'uv add', 'uv pip install', 'uv sync', 'uv tool install', 'uvx',
  'poetry add', 'poetry install',
  'cargo add', 'cargo install',
  'go get', 'go install',
  'gem install', 'bundle install', 'composer require', 'composer install',
];
/** Programs that reach the network: refused when the network is restricted. */
export const NETWORK_PROGRAMS = ['curl', 'wget', 'nc', 'ncat', 'netcat', 'socat', 'telnet', 'ssh', 'scp', 'sftp', 'ftp', 'rsync', 'http', 'https', 'xh', 'aria2c'];
/** File names that look like secrets (globs against a path's last segment). */
export const SECRET_FILE_GLOBS = ['.env', '.env.*', '*.pem', '*.key', '*.p12', '*.pfx', 'id_rsa*', 'id_dsa*', 'id_ecdsa*', 'id_ed25519*', '.npmrc', '.pypirc', '.netrc', '.git-credentials', 'credentials', 'credentials.*', '*secret*', '*.keystore', '.htpasswd'];

/** Places a shell redirection may write outside the workspace. */
export const HARMLESS_WRITE_TARGETS = new Set(['/dev/null', '/dev/stdout', '/dev/stderr', '/dev/tty']);
/** Inline-code interpreters: their code is searched for denied programs, since it can run anything. */
export const AWKS = new Set(['awk', 'gawk', 'mawk', 'nawk']);
export const INLINE_CODE_FLAGS: Record<string, string[]> = {
  python: ['-c'], python3: ['-c'], node: ['-e', '--eval', '-p', '--print'], perl: ['-e', '-E'], ruby: ['-e'], php: ['-r'], deno: ['eval'], bun: ['-e', '--eval'],
  lua: ['-e'], Rscript: ['-e'], R: ['-e'], expect: ['-c'], vim: ['-c'], ex: ['-c'],
};

// ── matching ────────────────────────────────────────────────────────────────

const globRegExp = (glob: string, segment: string): RegExp => {
  const escape = (part: string): string => part.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, segment).replace(/\?/g, '.');
  return new RegExp(`^${glob.split('**').map(escape).join('.*')}$`, 's');
};

/** Whether a command word matches a pattern word (a glob). */
const wordMatches = (word: string, pattern: string): boolean => word === pattern || (pattern.includes('*') && globRegExp(pattern, '.*').test(word));

export const basename = (word: string): string => word.slice(word.lastIndexOf('/') + 1);
const patternWords = (pattern: string): string[] => pattern.split(/\s+/).filter(Boolean);

/** Allow patterns match narrowly: the command's words begin with the pattern's words, in order. */
export function matchesPrefix(command: ShellCommand, pattern: string): boolean {
  const [program, ...rest] = patternWords(pattern);
  const [first, ...args] = command.words;
  if (!program || first === undefined || !wordMatches(basename(first), program)) return false;
  return rest.every((word, index) => args[index] !== undefined && wordMatches(args[index], word));
}

/**
 * Deny and approval patterns match generously: the program, then the pattern's other words
 * anywhere among the arguments in order (`git -C x push` is `git push`; so is `git log push`).
 */
export function matchesLoosely(command: ShellCommand, pattern: string): boolean {
  const [program, ...rest] = patternWords(pattern);
  const [first, ...args] = command.words;
  if (!program || first === undefined || !wordMatches(basename(first), program)) return false;
  let at = 0;
  for (const word of rest) {
    while (at < args.length && !wordMatches(args[at]!, word)) at += 1;
    if (at >= args.length) return false;
    at += 1;
  }
  return true;
}

/** Whether a dynamic command (a variable, a substitution) could be this pattern: its program may be anything, or is the pattern's with unknown arguments. */
export function couldMatch(command: ShellCommand, pattern: string): boolean {
  if (!command.dynamic) return false;
  const [program] = patternWords(pattern);
  const [first] = command.words;
  return first === undefined || first.includes('$') || (program !== undefined && wordMatches(basename(first), program));
}

/** The words of inline code (`python -c "…"`) mention the pattern's program and words, in order. */
export function mentions(text: string, pattern: string): boolean {
  const words = patternWords(pattern).map((word) => word.replace(/\*/g, ''));
  let at = 0;
  for (const word of words) {
    const found = text.indexOf(word, at);
    if (found < 0) return false;
    at = found + word.length;
  }
  return true;
}

// ── paths ───────────────────────────────────────────────────────────────────

/** `path` resolved against `base` (POSIX, lexically: `.` and `..` folded), absolute. */
export function resolvePath(base: string, target: string): string {
  const parts: string[] = [];
  for (const segment of `${target.startsWith('/') ? '' : `${base}/`}${target}`.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') parts.pop();
    else parts.push(segment);
  }
  return `/${parts.join('/')}`;
}

/** The path relative to the workspace, or undefined when it lies outside it. */
export function insideWorkspace(workspaceDir: string, target: string): string | undefined {
  const root = resolvePath('/', workspaceDir);
  const resolved = resolvePath(root, target);
  if (resolved === root) return '';
  return resolved.startsWith(`${root === '/' ? '' : root}/`) ? resolved.slice(root.length + (root === '/' ? 0 : 1)) : undefined;
}

/** Whether a workspace-relative path matches a deny glob (gitignore-like: no `/` → any folder; trailing `/` → the folder and all under it). */
export function pathMatchesGlob(relative: string, glob: string): boolean {
  const segments = relative.split('/').filter(Boolean);
  const body = glob.replace(/^\.\//, '').replace(/^\//, '').replace(/\/+$/, '');
  if (!body) return false;
  if (!body.includes('/')) {
    const pattern = globRegExp(body, '[^/]*');
    // A folder glob matches any folder on the path; a file glob any segment (a match on a folder covers what is under it).
    return segments.some((segment) => pattern.test(segment));
  }
  // Anchored at the workspace's root; a match on a folder covers what is under it.
  const pattern = globRegExp(body, '[^/]*');
  for (let end = 1; end <= segments.length; end += 1) if (pattern.test(segments.slice(0, end).join('/'))) return true;
  return false;
}

export const looksSecret = (target: string): boolean => {
  const name = basename(target.replace(/\/+$/, ''));
  return SECRET_FILE_GLOBS.some((glob) => globRegExp(glob, '[^/]*').test(name)) || /(^|\/)\.(ssh|aws|gnupg|docker|kube)\//.test(target);
};

/** Tricks a lexical check cannot see through: home, process and descriptor paths, NULs. */
export const opaquePath = (target: string): boolean => target.startsWith('~') || /^\/(proc|dev\/fd)\//.test(target) || target.includes('\0') || target.includes('$');
