import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { z } from 'zod';
import { InvalidConfigFileError, describeIssues } from '../contract/errors.js';

/** Whether `file` is a regular file this process may execute. */
export async function isExecutableFile(file: string): Promise<boolean> {
  try {
    await fs.access(file, fs.constants.X_OK);
    return (await fs.stat(file)).isFile();
  } catch {
    return false;
  }
}

/** Replaces `file` whole: a reader sees the old content or the new, never a part. */
export async function writeFileAtomically(file: string, content: string, mode = 0o644): Promise<void> {
  const staging = path.join(path.dirname(file), `.${path.basename(file)}.${crypto.randomBytes(4).toString('hex')}.tmp`);
  try {
    await fs.writeFile(staging, content, { mode });
    await fs.chmod(staging, mode);
    await fs.rename(staging, file);
  } finally {
    await fs.rm(staging, { force: true });
  }
}

/** Moves `source` to `target`, replacing whatever was there; the old folder is removed only after the swap. */
export async function replaceFolder(source: string, target: string): Promise<void> {
  // A leading dot keeps the retired folder out of listings: it is not a valid name.
  const retired = path.join(path.dirname(target), `.retired-${path.basename(target)}-${crypto.randomBytes(4).toString('hex')}`);
  const hadTarget = await fs.rename(target, retired).then(
    () => true,
    (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return false;
      throw error;
    },
  );
  await fs.rename(source, target);
  if (hadTarget) await fs.rm(retired, { recursive: true, force: true });
}

/** The sub-folders of `dir` whose names `accept` takes, sorted; none when `dir` does not exist. */
export async function subfolderNames(dir: string, accept: (name: string) => boolean): Promise<string[]> {
  const entries = await fs.readdir(dir, { withFileTypes: true }).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [];
    throw error;
  });
  return entries.filter((entry) => entry.isDirectory() && accept(entry.name)).map((entry) => entry.name).sort();
}

/**
 * Reads a config file named after what it defines (`<name>.json`, `<name>/agent.json`): undefined
 * when it does not exist; its JSON checked against `schema`, with the name from its path filled in
 * and required to match. Any other problem is `InvalidConfigFileError` naming the file.
 */
export async function readNamedConfigFile<T extends { name: string }>(
  file: string,
  name: string,
  schema: z.ZodType<T>,
  place: string,
): Promise<T | undefined> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new InvalidConfigFileError(file, [(error as Error).message]);
  }
  const parsed = schema.safeParse({ name, ...(raw as object) });
  if (!parsed.success) throw new InvalidConfigFileError(file, describeIssues(parsed.error.issues));
  if (parsed.data.name !== name) throw new InvalidConfigFileError(file, [`name "${parsed.data.name}" differs from its ${place}`]);
  return parsed.data;
}

