import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { InvalidConfigFileError, ScriptNotFoundError, describeIssues } from '../contract/errors.js';
import { subfolderNames, writeFileAtomically } from './files.js';
import { schemaFieldProblems } from '../contract/json-schema.js';
import { Name } from '../contract/names.js';
import { ScriptDefinition, type Script } from '../contract/config-files.js';

/**
 * Scripts live as files, `config/scripts/<name>/script.json` beside the script file, so they
 * diff well in git. A script's version is the hash of its definition and content: any change is
 * a new version, and a runner can check what it installed without asking anyone.
 */

export const SCRIPT_DEFINITION_FILE = 'script.json';

export function scriptsRoot(configDir: string): string {
  return path.join(configDir, 'scripts');
}

export function scriptDir(configDir: string, name: string): string {
  // The name is checked before it becomes part of a path.
  return path.join(scriptsRoot(configDir), Name.parse(name));
}

/** JSON with sorted keys, so equal definitions hash equally whatever order their fields were written in. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, item]) => item !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonicalJson(item)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export function scriptVersion(definition: ScriptDefinition, content: string | Buffer): string {
  return crypto.createHash('sha256').update(canonicalJson(definition)).update('\0').update(content).digest('hex');
}

/** Parses and checks a `script.json` text; `expectedName` is its folder's name. */
export function parseScriptDefinition(text: string, file: string, expectedName: string): ScriptDefinition {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new InvalidConfigFileError(file, [(error as Error).message]);
  }
  const parsed = ScriptDefinition.safeParse(raw);
  if (!parsed.success) throw new InvalidConfigFileError(file, describeIssues(parsed.error.issues));
  if (parsed.data.name !== expectedName) throw new InvalidConfigFileError(file, [`name "${parsed.data.name}" differs from its folder "${expectedName}"`]);
  const problems = schemaFieldProblems(parsed.data, ['parameters_schema']);
  if (problems.length) throw new InvalidConfigFileError(file, problems);
  return parsed.data;
}

/** Reads a script folder: its definition, content and version. */
export async function readScriptFolder(dir: string, expectedName: string): Promise<Script> {
  const file = path.join(dir, SCRIPT_DEFINITION_FILE);
  const definition = parseScriptDefinition(await fs.readFile(file, 'utf8'), file, expectedName);
  const scriptPath = path.join(dir, definition.script_file);
  let content: Buffer;
  try {
    content = await fs.readFile(scriptPath);
  } catch (error) {
    throw new InvalidConfigFileError(scriptPath, [`cannot read the script file: ${(error as NodeJS.ErrnoException).code ?? String(error)}`]);
  }
  return { ...definition, script_content: content.toString('utf8'), version: scriptVersion(definition, content) };
}

export async function loadScript(configDir: string, name: string): Promise<Script> {
  if (!Name.safeParse(name).success) throw new ScriptNotFoundError(name);
  const dir = scriptDir(configDir, name);
  try {
    await fs.access(path.join(dir, SCRIPT_DEFINITION_FILE));
  } catch {
    throw new ScriptNotFoundError(name);
  }
  return readScriptFolder(dir, name);
}

export type ScriptListing = Omit<Script, 'script_content'> | { name: string; error: string };

/** Every script; a broken one is listed with its error and never hides the others. */
export async function listScripts(configDir: string): Promise<ScriptListing[]> {
  // Folders that are not valid names (a half-written `.tmp-…`) are not scripts.
  const names = await subfolderNames(scriptsRoot(configDir), (name) => Name.safeParse(name).success);
  return Promise.all(
    names.map(async (name): Promise<ScriptListing> => {
      try {
        const { script_content: _content, ...summary } = await readScriptFolder(scriptDir(configDir, name), name);
        return summary;
      } catch (error) {
        return { name, error: error instanceof Error ? error.message : String(error) };
      }
    }),
  );
}

/** The current version of every valid script: what every runner should have installed. */
export async function scriptVersions(configDir: string): Promise<Record<string, string>> {
  const versions: Record<string, string> = {};
  for (const listing of await listScripts(configDir)) if ('version' in listing) versions[listing.name] = listing.version;
  return versions;
}

/**
 * Writes a script. A new one is staged in a sibling temp folder and renamed into place; an existing
 * one has each file replaced atomically (content first, then the definition), so its folder never
 * disappears under a reader. The script file is made executable.
 */
export async function saveScript(configDir: string, definition: ScriptDefinition, content: string): Promise<Script> {
  const problems = schemaFieldProblems(definition, ['parameters_schema']);
  if (problems.length) throw new InvalidConfigFileError(`script ${definition.name}`, problems);
  const dir = scriptDir(configDir, definition.name);
  const definitionText = `${JSON.stringify(definition, null, 2)}\n`;
  const previous = await fs.readFile(path.join(dir, SCRIPT_DEFINITION_FILE), 'utf8').then(
    (text) => ScriptDefinition.safeParse(JSON.parse(text)).data,
    () => undefined,
  );
  const exists = await fs.stat(dir).then(
    () => true,
    () => false,
  );
  if (exists) {
    await writeFileAtomically(path.join(dir, definition.script_file), content, 0o755);
    await writeFileAtomically(path.join(dir, SCRIPT_DEFINITION_FILE), definitionText);
    if (previous && previous.script_file !== definition.script_file) await fs.rm(path.join(dir, previous.script_file), { force: true });
  } else {
    await fs.mkdir(scriptsRoot(configDir), { recursive: true });
    const staging = await fs.mkdtemp(path.join(scriptsRoot(configDir), `.tmp-${definition.name}-`));
    try {
      await fs.writeFile(path.join(staging, SCRIPT_DEFINITION_FILE), definitionText);
      await fs.writeFile(path.join(staging, definition.script_file), content, { mode: 0o755 });
      await fs.rename(staging, dir);
    } finally {
      await fs.rm(staging, { recursive: true, force: true });
    }
  }
  return { ...definition, script_content: content, version: scriptVersion(definition, content) };
}

export async function deleteScript(configDir: string, name: string): Promise<void> {
  // A broken script can still be deleted; only a missing one is an error.
  if (!Name.safeParse(name).success) throw new ScriptNotFoundError(name);
  await fs.access(scriptDir(configDir, name)).catch(() => {
    throw new ScriptNotFoundError(name);
  });
  await fs.rm(scriptDir(configDir, name), { recursive: true, force: true });
}
