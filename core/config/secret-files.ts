import fs from 'node:fs/promises';
import path from 'node:path';
import type { z } from 'zod';
import { InvalidConfigFileError, describeIssues } from '../contract/errors.js';
import { Name } from '../contract/names.js';
import { writeFileAtomically } from './files.js';
import { PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from './private-files.js';

/**
 * Config files that hold a secret (notifications, webhook triggers): `<config>/<kind>/<name>.json`,
 * their owner's only. What a broken one reports never quotes its text, which may be the secret.
 */
export function secretConfigFile(configDir: string, kind: string, name: string): string {
  // The name is checked before it becomes part of a path.
  return path.join(configDir, kind, `${Name.parse(name)}.json`);
}

/** The file's definition, named by its file; `notFound` when there is none (or the name is not one). */
export async function readSecretConfig<T extends { name: string }>(configDir: string, kind: string, name: string, schema: z.ZodType<T>, notFound: () => Error): Promise<T> {
  if (!Name.safeParse(name).success) throw notFound();
  const file = secretConfigFile(configDir, kind, name);
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw notFound();
    throw error;
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    // Not the parser's message: it quotes the text around the error, which may be the secret.
    throw new InvalidConfigFileError(file, ['not valid JSON']);
  }
  // zod's messages name fields and rules, never the values: the secret does not show.
  const parsed = schema.safeParse({ name, ...(raw as object) });
  if (!parsed.success) throw new InvalidConfigFileError(file, describeIssues(parsed.error.issues));
  if (parsed.data.name !== name) throw new InvalidConfigFileError(file, [`name "${parsed.data.name}" differs from its file "${name}.json"`]);
  return parsed.data;
}

/** The names of the kind's files, sorted; files whose name is not a name are left out. */
export async function secretConfigNames(configDir: string, kind: string): Promise<string[]> {
  const entries = await fs.readdir(path.join(configDir, kind)).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [];
    throw error;
  });
  return entries.filter((entry) => entry.endsWith('.json')).map((entry) => entry.slice(0, -'.json'.length)).filter((name) => Name.safeParse(name).success).sort();
}

export async function writeSecretConfig<T extends { name: string }>(configDir: string, kind: string, value: T): Promise<T> {
  const file = secretConfigFile(configDir, kind, value.name);
  await fs.mkdir(path.dirname(file), { recursive: true, mode: PRIVATE_DIR_MODE });
  await writeFileAtomically(file, `${JSON.stringify(value, null, 2)}\n`, PRIVATE_FILE_MODE);
  return value;
}

/** Removes the file; `notFound` when there is none. */
export async function removeSecretConfig(configDir: string, kind: string, name: string, notFound: () => Error): Promise<void> {
  if (!Name.safeParse(name).success) throw notFound();
  await fs.rm(secretConfigFile(configDir, kind, name)).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') throw notFound();
    throw error;
  });
}
