import fs from 'node:fs/promises';
import path from 'node:path';
import { MAX_SCRIPT_BYTES, Script, ScriptDefinition } from '../core/contract/config-files.js';
import { describeIssues } from '../core/contract/errors.js';
import { schemaFieldProblems } from '../core/contract/json-schema.js';
import { SCRIPT_DEFINITION_FILE, scriptVersion } from '../core/config/scripts.js';
import { SCRIPT_CLEARABLE_FIELDS, type CreateScriptRequest } from '../core/contract/http.js';
import type { ApiClient } from './api-client.js';
import { ApiError, CliError } from './errors.js';

/** A script's definition checked as the API checks it (the contract's schema, and its JSON Schema valid); `problems` when not. */
export function checkScriptDefinition(raw: unknown): { definition?: ScriptDefinition; problems: string[] } {
  const parsed = ScriptDefinition.safeParse(raw);
  if (!parsed.success) return { problems: describeIssues(parsed.error.issues) };
  const problems = schemaFieldProblems(parsed.data, ['parameters_schema']);
  return problems.length ? { problems } : { definition: parsed.data, problems: [] };
}

/**
 * A script folder as `config/scripts/<name>/` holds it: `script.json` (its `name` defaults to the
 * folder's) beside the file it names.
 */
export async function readScriptFolder(dir: string): Promise<CreateScriptRequest> {
  const file = path.join(dir, SCRIPT_DEFINITION_FILE);
  let raw: unknown;
  try {
    raw = JSON.parse(await fs.readFile(file, 'utf8'));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new CliError(`${file}: ${code === 'ENOENT' ? `no ${SCRIPT_DEFINITION_FILE} in ${dir}` : (error as Error).message}`);
  }
  const withName = raw && typeof raw === 'object' && !Array.isArray(raw) ? { name: path.basename(path.resolve(dir)), ...raw } : raw;
  const { definition, problems } = checkScriptDefinition(withName);
  if (!definition) throw new CliError(`${file} is invalid`, undefined, { problems });
  // script_file is a plain name (the schema refuses separators and ".."): it stays in the folder.
  const scriptPath = path.join(dir, definition.script_file);
  const stat = await fs.stat(scriptPath).catch(() => undefined);
  if (!stat?.isFile()) throw new CliError(`${scriptPath}: the script file ${definition.script_file} is not a file in ${dir}`);
  if (stat.size > MAX_SCRIPT_BYTES) throw new CliError(`${scriptPath} is ${stat.size} bytes; a script may be at most ${MAX_SCRIPT_BYTES}`);
  const content = await fs.readFile(scriptPath, 'utf8');
  if (content.length === 0) throw new CliError(`${scriptPath} is empty`);
  return { ...definition, script_content: content };
}

/** The version the API gives this script: the hash of its definition and content. */
export const versionOf = ({ script_content: content, ...definition }: CreateScriptRequest): string => scriptVersion(definition, content);

/** The PATCH that makes a stored script this one: every field, and `null` for an optional one it lacks. */
export function scriptReplacement({ name: _name, ...script }: CreateScriptRequest): Record<string, unknown> {
  return { ...Object.fromEntries(SCRIPT_CLEARABLE_FIELDS.map((field) => [field, null])), ...script };
}

export interface PushResult {
  action: 'created' | 'updated' | 'unchanged';
  script: Script;
}

/** The stored script of that name, or undefined when there is none. */
export async function storedScript(client: ApiClient, name: string): Promise<Script | undefined> {
  return client.get(`/scripts/${encodeURIComponent(name)}`, { schema: Script }).catch((error: unknown) => {
    if (error instanceof ApiError && error.status === 404) return undefined;
    throw error;
  });
}

/** Creates the script, or replaces the stored one of that name; unchanged (nothing sent) when its version is the same. */
export async function pushScript(client: ApiClient, script: CreateScriptRequest): Promise<PushResult> {
  const current = await storedScript(client, script.name);
  if (!current) return { action: 'created', script: await client.post('/scripts', { body: script, schema: Script }) };
  if (current.version === versionOf(script)) return { action: 'unchanged', script: current };
  return { action: 'updated', script: await client.patch(`/scripts/${encodeURIComponent(script.name)}`, { body: scriptReplacement(script), schema: Script }) };
}
