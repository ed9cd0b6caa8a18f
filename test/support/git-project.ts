import fs from 'node:fs/promises';
import path from 'node:path';
import { git } from '../../activities/git.js';

/**
 * Makes `dir` a git repository with one commit of `files` (path → content), so each run on it
 * works in a worktree of its own. Returns `dir`.
 */
export async function gitProject(dir: string, files: Record<string, string> = { 'README.md': '# project\n' }): Promise<string> {
  await git(dir, ['init', '-q', '-b', 'main']);
  for (const [file, content] of Object.entries(files)) await fs.writeFile(path.join(dir, file), content);
  await git(dir, ['add', '-A']);
  await git(dir, ['-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-q', '-m', 'init']);
  return dir;
}
