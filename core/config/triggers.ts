import fs from 'node:fs/promises';
import path from 'node:path';
import { InvalidConfigFileError, TriggerNotFoundError, describeIssues } from '../contract/errors.js';
import { Name } from '../contract/names.js';
import { Trigger } from '../contract/triggers.js';
import { writeFileAtomically } from './files.js';
import { PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from './private-files.js';

/** Triggers live as `config/triggers/<name>.json`, their owner's only: each holds its webhook secret. */
export function triggerFile(configDir: string, name: string): string {
  // The name is checked before it becomes part of a path.
  return path.join(configDir, 'triggers', `${Name.parse(name)}.json`);
}

export async function loadTrigger(configDir: string, name: string): Promise<Trigger> {
  if (!Name.safeParse(name).success) throw new TriggerNotFoundError(name);
  const file = triggerFile(configDir, name);
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new TriggerNotFoundError(name);
    throw error;
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new InvalidConfigFileError(file, [(error as Error).message]);
  }
  const parsed = Trigger.safeParse({ name, ...(raw as object) });
  // zod's messages name fields and rules, never the values: the secret does not show.
  if (!parsed.success) throw new InvalidConfigFileError(file, describeIssues(parsed.error.issues));
  if (parsed.data.name !== name) throw new InvalidConfigFileError(file, [`its name differs from its file name "${name}"`]);
  return parsed.data;
}

export async function listTriggerNames(configDir: string): Promise<string[]> {
  const entries = await fs.readdir(path.join(configDir, 'triggers')).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [];
    throw error;
  });
  return entries.filter((entry) => entry.endsWith('.json')).map((entry) => entry.slice(0, -'.json'.length)).filter((name) => Name.safeParse(name).success).sort();
}

export async function saveTrigger(configDir: string, trigger: Trigger): Promise<Trigger> {
  const file = triggerFile(configDir, trigger.name);
  await fs.mkdir(path.dirname(file), { recursive: true, mode: PRIVATE_DIR_MODE });
  await writeFileAtomically(file, `${JSON.stringify(trigger, null, 2)}\n`, PRIVATE_FILE_MODE);
  return trigger;
}

export async function deleteTrigger(configDir: string, name: string): Promise<void> {
  await loadTrigger(configDir, name).catch((error: unknown) => {
    if (error instanceof TriggerNotFoundError) throw error;
  });
  await fs.rm(triggerFile(configDir, name));
}
