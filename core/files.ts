import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';

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
