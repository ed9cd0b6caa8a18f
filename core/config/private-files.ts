import fs from 'node:fs/promises';

/** Folders and files that hold tokens, events or run output: their owner's only. */
export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;

/** Makes `dir` (and missing parents) and leaves it readable by its owner only, also when it already existed. */
export async function ensurePrivateDir(dir: string): Promise<void> {
  await fs.mkdir(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  await fs.chmod(dir, PRIVATE_DIR_MODE);
}

/**
 * Makes `dir` (readable by all, writable by its owner only) and checks that it is this process's
 * own: a folder in a shared place (the temp dir) that someone else made first — an executor,
 * say — could have files swapped in it, so it is refused.
 */
export async function ensureOwnSharedDir(dir: string): Promise<void> {
  await fs.mkdir(dir, { recursive: true, mode: 0o755 });
  const stat = await fs.lstat(dir);
  const uid = process.getuid?.();
  if (!stat.isDirectory() || (uid !== undefined && stat.uid !== uid) || (stat.mode & 0o022) !== 0) {
    throw new Error(`${dir} is not this runner's own folder (owner uid ${stat.uid}, mode ${(stat.mode & 0o777).toString(8)}): remove it`);
  }
}
