import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';

export class GitError extends Error {
  constructor(readonly args: string[], readonly stderr: string) {
    super(`git ${args.join(' ')}: ${stderr.trim() || 'failed'}`);
    this.name = 'GitError';
  }
}

/** Runs git with an argv array (never a shell string) in `cwd`; resolves with stdout. `env` adds to git's environment. */
export function git(cwd: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('git', args, { cwd, maxBuffer: 16 * 1024 * 1024, env: { ...process.env, ...env, GIT_TERMINAL_PROMPT: '0' } }, (error, stdout, stderr) => {
      if (error) reject(new GitError(args, stderr || error.message));
      else resolve(stdout);
    });
  });
}

/** Whether `dir` is the top folder of a git work tree (a folder inside another repository is not). */
export async function isGitRepository(dir: string): Promise<boolean> {
  try {
    const top = (await git(dir, ['rev-parse', '--show-toplevel'])).trim();
    const [real, realTop] = await Promise.all([fs.realpath(dir), fs.realpath(top)]);
    return real === realTop;
  } catch {
    return false;
  }
}

export interface FileDiff {
  path: string;
  added: number;
  removed: number;
}

/** Per-file lines added and removed between two commits (binary files count 0). */
export async function diffNumstat(cwd: string, from: string, to: string): Promise<FileDiff[]> {
  const output = await git(cwd, ['diff', '--numstat', '--no-renames', from, to]);
  return output
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [added, removed, ...rest] = line.split('\t');
      return { path: rest.join('\t'), added: Number(added) || 0, removed: Number(removed) || 0 };
    });
}
