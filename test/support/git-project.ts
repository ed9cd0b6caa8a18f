import fs from 'node:fs/promises';
import path from 'node:path';
import { git } from '../../activities/git.js';

/** Makes `dir` a git repository with one commit, so each run on it works in a worktree of its own. */
export async function gitProject(dir: string): Promise<string> {
  await git(dir, ['init', '-q', '-b', 'main']);
  await fs.writeFile(path.join(dir, 'README.md'), 'a project for child runs\n');
  await git(dir, ['add', '-A']);
  await git(dir, ['-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-q', '-m', 'init']);
  return dir;
}
