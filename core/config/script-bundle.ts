import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { create, extract, list } from 'tar';
import { SCRIPT_DEFINITION_FILE } from './scripts.js';

/**
 * A script's bundle: a tar.gz of its flat folder (`script.json` and the script file). The API
 * packs it from config; a runner unpacks it, refusing any entry that is not a plain file directly
 * in the folder, so an archive can never write outside it.
 */

export class ScriptBundleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ScriptBundleError';
  }
}

/** Header with which the API names the version it packed. */
export const SCRIPT_VERSION_HEADER = 'x-ao-script-version';

/** Bundles are small; anything bigger is refused before it is unpacked. */
export const MAX_BUNDLE_BYTES = 8 * 1024 * 1024;

export async function packScriptBundle(dir: string, scriptFile: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  // portable + a fixed mtime: the same script packs to the same bytes wherever it is packed.
  const stream = create({ gzip: true, cwd: dir, portable: true, mtime: new Date(0) }, [SCRIPT_DEFINITION_FILE, scriptFile]);
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks);
}

/** Why this entry may not be unpacked, or undefined when it is a plain file at the folder's top. */
export function unsafeEntryReason(entryPath: string, type: string): string | undefined {
  if (type !== 'File' && type !== 'OldFile') return `entry "${entryPath}" is a ${type}, not a plain file`;
  const normal = entryPath.replace(/^\.\//, '');
  if (normal.length === 0 || normal.includes('/') || normal.includes('\\') || normal === '.' || normal === '..' || path.isAbsolute(entryPath)) {
    return `entry "${entryPath}" would escape the script folder`;
  }
  return undefined;
}

/** Unpacks a bundle into `dest` (which must be empty) after checking every entry; nothing is written when one is refused. */
export async function unpackScriptBundle(archive: Buffer, dest: string): Promise<string[]> {
  if (archive.length > MAX_BUNDLE_BYTES) throw new ScriptBundleError(`bundle is ${archive.length} bytes; the limit is ${MAX_BUNDLE_BYTES}`);
  const scratch = await fs.mkdtemp(path.join(os.tmpdir(), 'ao-bundle-'));
  try {
    const file = path.join(scratch, 'bundle.tar.gz');
    await fs.writeFile(file, archive);
    const names: string[] = [];
    const problems: string[] = [];
    try {
      list({
        file,
        sync: true,
        strict: true,
        onReadEntry: (entry) => {
          const problem = unsafeEntryReason(entry.path, entry.type);
          if (problem) problems.push(problem);
          else names.push(entry.path.replace(/^\.\//, ''));
        },
      });
    } catch (error) {
      throw new ScriptBundleError(`bundle is not a readable tar.gz: ${(error as Error).message}`);
    }
    if (problems.length) throw new ScriptBundleError(`bundle refused: ${problems.join('; ')}`);
    if (!names.includes(SCRIPT_DEFINITION_FILE)) throw new ScriptBundleError(`bundle has no ${SCRIPT_DEFINITION_FILE}`);
    if (new Set(names).size !== names.length) throw new ScriptBundleError('bundle names one file twice');
    // The bundle's fixed mtime (0, for the same bytes everywhere) must not become the files' on disk.
    extract({ file, cwd: dest, sync: true, strict: true, preservePaths: false, noMtime: true });
    return names;
  } finally {
    await fs.rm(scratch, { recursive: true, force: true });
  }
}
