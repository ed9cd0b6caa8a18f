import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { create, Parser, type ReadEntry } from 'tar';
import { z } from 'zod';
import { Agent, MAX_SCRIPT_BYTES, ScriptFileName, type ScriptDefinition } from '../core/contract/config-files.js';
import { describeIssues } from '../core/contract/errors.js';
import { ExecutorProfile } from '../core/contract/executor-profile.js';
import { Flow } from '../core/contract/flows.js';
import { schemaFieldProblems } from '../core/contract/json-schema.js';
import { Name } from '../core/contract/names.js';
import { SCRIPT_DEFINITION_FILE } from '../core/config/scripts.js';
import type { CreateScriptRequest } from '../core/contract/http.js';
import { PRIVATE_FILE_MODE } from '../core/config/private-files.js';
import { CliError } from './errors.js';
import { checkScriptDefinition } from './script-folder.js';

/**
 * `ao config export` archives: a tar.gz of
 *
 *   manifest.json                      { format: "ao-config", version: 1, exported_at, agents, scripts, profiles }
 *   agents/<name>.json                 the agent as `GET /agents/:name` answers it
 *   scripts/<name>/script.json         the script's definition
 *   scripts/<name>/<script_file>       its file
 *   profiles/<name>.json               the executor profile
 *   flows/<name>.json                  the flow as `GET /flows/:name` answers it (a version-1 archive may lack them)
 *
 * The manifest names every entry; an archive holding anything else is refused. A later version
 * adds kinds (flows, schedules) with their own folder and manifest list.
 */

export const ARCHIVE_FORMAT = 'ao-config';
export const ARCHIVE_VERSION = 1;
const MANIFEST_FILE = 'manifest.json';

export const ArchiveManifest = z
  .object({
    format: z.literal(ARCHIVE_FORMAT, { message: `not an ao config archive (manifest.json "format" is not "${ARCHIVE_FORMAT}")` }),
    version: z.literal(ARCHIVE_VERSION, { message: `this ao reads archive version ${ARCHIVE_VERSION}; a newer ao made this one` }),
    exported_at: z.string(),
    agents: z.array(Name),
    scripts: z.array(Name),
    profiles: z.array(Name),
    /** Added within version 1: an archive written before flows has none. */
    flows: z.array(Name).default([]),
  })
  .strict();
export type ArchiveManifest = z.infer<typeof ArchiveManifest>;

export interface NamedProfile {
  name: string;
  profile: ExecutorProfile;
}

/** What an archive holds, every entry checked with the contract's schemas. */
export interface ConfigBundle {
  agents: Agent[];
  scripts: CreateScriptRequest[];
  profiles: NamedProfile[];
  flows: Flow[];
}

/** A refused archive: every problem found, none written. */
export class ArchiveRefusedError extends CliError {
  constructor(file: string, readonly problems: string[]) {
    super(`${file} is refused, nothing was imported`, undefined, { problems });
    this.name = 'ArchiveRefusedError';
  }
}

/** Archives are configuration: small. Both limits keep a hostile one (a gzip bomb) from filling memory. */
const MAX_ARCHIVE_BYTES = 64 * 1024 * 1024;
const MAX_UNPACKED_BYTES = 256 * 1024 * 1024;
const MAX_JSON_ENTRY_BYTES = 4 * 1024 * 1024;

const json = (value: unknown): string => `${JSON.stringify(value, null, 2)}\n`;

/** Writes the bundle as an archive at `file` (its owner's only: scripts and prompts may be private). */
export async function packConfigBundle(bundle: ConfigBundle, file: string): Promise<ArchiveManifest> {
  const manifest: ArchiveManifest = {
    format: ARCHIVE_FORMAT,
    version: ARCHIVE_VERSION,
    exported_at: new Date().toISOString(),
    agents: bundle.agents.map((agent) => agent.name),
    scripts: bundle.scripts.map((script) => script.name),
    profiles: bundle.profiles.map((profile) => profile.name),
    flows: bundle.flows.map((flow) => flow.name),
  };
  const staging = await fs.mkdtemp(path.join(os.tmpdir(), 'ao-export-'));
  try {
    const entries: Array<[string, string]> = [
      [MANIFEST_FILE, json(manifest)],
      ...bundle.agents.map((agent): [string, string] => [`agents/${agent.name}.json`, json(agent)]),
      ...bundle.scripts.flatMap(({ script_content: content, ...definition }): Array<[string, string]> => [
        [`scripts/${definition.name}/${SCRIPT_DEFINITION_FILE}`, json(definition)],
        [`scripts/${definition.name}/${definition.script_file}`, content],
      ]),
      ...bundle.profiles.map(({ name, profile }): [string, string] => [`profiles/${name}.json`, json(profile)]),
      ...bundle.flows.map((flow): [string, string] => [`flows/${flow.name}.json`, json(flow)]),
    ];
    for (const [entry, content] of entries) {
      await fs.mkdir(path.dirname(path.join(staging, entry)), { recursive: true });
      await fs.writeFile(path.join(staging, entry), content);
    }
    const partial = `${file}.partial`;
    await fs.rm(partial, { force: true });
    // portable: no owner names or modes of this machine in the archive.
    await create({ gzip: true, file: partial, cwd: staging, portable: true, mode: PRIVATE_FILE_MODE }, entries.map(([entry]) => entry));
    await fs.chmod(partial, PRIVATE_FILE_MODE);
    await fs.rename(partial, file);
    return manifest;
  } finally {
    await fs.rm(staging, { recursive: true, force: true });
  }
}

/** Every plain-file entry of the archive by path, or the problems that refuse it (links, devices, unsafe paths, too big). */
async function readEntries(archive: Buffer): Promise<{ files: Map<string, Buffer>; folders: Set<string>; problems: string[] }> {
  const files = new Map<string, Buffer>();
  const folders = new Set<string>();
  const problems: string[] = [];
  let unpacked = 0;
  const parser = new Parser({
    strict: true,
    onReadEntry: (entry: ReadEntry) => {
      const problem = entryProblem(entry);
      if (problem || files.has(normalEntryPath(entry.path))) {
        problems.push(problem ?? `entry "${entry.path}" is in the archive twice`);
        entry.resume();
        return;
      }
      if (entry.type === 'Directory') {
        folders.add(normalEntryPath(entry.path));
        return void entry.resume();
      }
      unpacked += entry.size;
      if (unpacked > MAX_UNPACKED_BYTES) {
        problems.push(`the archive unpacks to more than ${MAX_UNPACKED_BYTES} bytes`);
        return void entry.resume();
      }
      const chunks: Buffer[] = [];
      entry.on('data', (chunk: Buffer) => chunks.push(chunk));
      entry.on('end', () => files.set(normalEntryPath(entry.path), Buffer.concat(chunks)));
    },
  });
  await new Promise<void>((resolve, reject) => {
    parser.on('error', reject);
    parser.on('end', resolve);
    parser.end(archive);
  }).catch((error: unknown) => {
    problems.push(`not a readable tar.gz: ${(error as Error).message}`);
  });
  return { files, folders, problems };
}

const normalEntryPath = (entryPath: string): string => entryPath.replace(/^\.\//, '').replace(/\/$/, '');

/** Why this entry may not be read: anything but a plain file or folder, an absolute path, a `..`, a size over the limits. */
function entryProblem(entry: ReadEntry): string | undefined {
  const { path: entryPath, type } = entry;
  if (type !== 'File' && type !== 'OldFile' && type !== 'Directory') return `entry "${entryPath}" is a ${type}, not a plain file`;
  if (path.posix.isAbsolute(entryPath) || /^[A-Za-z]:/.test(entryPath) || entryPath.includes('\\')) return `entry "${entryPath}" has an absolute path`;
  if (normalEntryPath(entryPath).split('/').some((segment) => segment === '..' || segment === '.' || segment === '')) {
    return `entry "${entryPath}" has a path with "..", "." or an empty segment`;
  }
  const limit = /\.json$/.test(entryPath) ? MAX_JSON_ENTRY_BYTES : MAX_SCRIPT_BYTES;
  if (type !== 'Directory' && entry.size > limit) return `entry "${entryPath}" is ${entry.size} bytes; the limit is ${limit}`;
  return undefined;
}

function parseJson(files: Map<string, Buffer>, entry: string, problems: string[]): unknown {
  try {
    return JSON.parse(files.get(entry)!.toString('utf8'));
  } catch (error) {
    problems.push(`${entry}: not JSON: ${(error as Error).message}`);
    return undefined;
  }
}

/** The folders a version-1 archive may hold. */
const EXPECTED_FOLDERS = new Set(['agents', 'scripts', 'profiles', 'flows']);

/**
 * Reads and checks a whole archive before anything is written: every entry a plain file at an
 * expected path, named in the manifest, parsed with the contract's schemas, names matching their
 * paths, and each procedural agent's script in the archive or `existingScripts`. Throws
 * `ArchiveRefusedError` with every problem found.
 */
export async function readConfigArchive(file: string, existingScripts: ReadonlySet<string>): Promise<{ manifest: ArchiveManifest; bundle: ConfigBundle }> {
  const stat = await fs.lstat(file).catch(() => undefined);
  if (!stat?.isFile()) throw new CliError(`${file} is not a file`);
  if (stat.size > MAX_ARCHIVE_BYTES) throw new ArchiveRefusedError(file, [`the archive is ${stat.size} bytes; the limit is ${MAX_ARCHIVE_BYTES}`]);
  const { files, folders, problems } = await readEntries(await fs.readFile(file));
  const refuse = (): never => {
    throw new ArchiveRefusedError(file, problems);
  };
  if (problems.length) refuse();
  if (!files.has(MANIFEST_FILE)) {
    problems.push(`no ${MANIFEST_FILE}: not an archive of ao config export`);
    refuse();
  }
  const manifestParsed = ArchiveManifest.safeParse(parseJson(files, MANIFEST_FILE, problems));
  if (!manifestParsed.success) {
    problems.push(...describeIssues(manifestParsed.error.issues).map((problem) => `${MANIFEST_FILE}: ${problem}`));
    refuse();
  }
  const manifest = manifestParsed.data!;
  const expected = new Set<string>([MANIFEST_FILE]);
  const bundle: ConfigBundle = { agents: [], scripts: [], profiles: [], flows: [] };

  for (const name of manifest.profiles) {
    const entry = `profiles/${name}.json`;
    expected.add(entry);
    if (!files.has(entry)) {
      problems.push(`${entry}: named in the manifest but missing`);
      continue;
    }
    const parsed = ExecutorProfile.safeParse(parseJson(files, entry, problems));
    if (!parsed.success) problems.push(...describeIssues(parsed.error.issues).map((problem) => `${entry}: ${problem}`));
    else bundle.profiles.push({ name, profile: parsed.data });
  }

  for (const name of manifest.scripts) {
    const definitionEntry = `scripts/${name}/${SCRIPT_DEFINITION_FILE}`;
    expected.add(definitionEntry);
    if (!files.has(definitionEntry)) {
      problems.push(`${definitionEntry}: named in the manifest but missing`);
      continue;
    }
    const { definition, problems: definitionProblems } = checkScriptDefinition(parseJson(files, definitionEntry, problems));
    problems.push(...definitionProblems.map((problem) => `${definitionEntry}: ${problem}`));
    if (!definition) continue;
    if (definition.name !== name) problems.push(`${definitionEntry}: name "${definition.name}" differs from its folder "${name}"`);
    const scriptEntry = `scripts/${name}/${ScriptFileName.parse(definition.script_file)}`;
    expected.add(scriptEntry);
    const content = files.get(scriptEntry)?.toString('utf8');
    if (!content) problems.push(`${scriptEntry}: the script file is missing or empty`);
    else bundle.scripts.push({ ...(definition satisfies ScriptDefinition), script_content: content });
  }

  const scripts = new Set([...existingScripts, ...manifest.scripts]);
  for (const name of manifest.agents) {
    const entry = `agents/${name}.json`;
    expected.add(entry);
    if (!files.has(entry)) {
      problems.push(`${entry}: named in the manifest but missing`);
      continue;
    }
    const parsed = Agent.safeParse(parseJson(files, entry, problems));
    if (!parsed.success) {
      problems.push(...describeIssues(parsed.error.issues).map((problem) => `${entry}: ${problem}`));
      continue;
    }
    const agent = parsed.data;
    if (agent.name !== name) problems.push(`${entry}: name "${agent.name}" differs from its file name "${name}"`);
    problems.push(...schemaFieldProblems(agent, ['parameters_schema', 'output_schema']).map((problem) => `${entry}: ${problem}`));
    if (agent.script && !scripts.has(agent.script)) problems.push(`${entry}: script "${agent.script}" is neither in the archive nor on the API`);
    bundle.agents.push(agent);
  }

  for (const name of manifest.flows) {
    const entry = `flows/${name}.json`;
    expected.add(entry);
    if (!files.has(entry)) {
      problems.push(`${entry}: named in the manifest but missing`);
      continue;
    }
    const parsed = Flow.safeParse(parseJson(files, entry, problems));
    if (!parsed.success) problems.push(...describeIssues(parsed.error.issues).map((problem) => `${entry}: ${problem}`));
    else if (parsed.data.name !== name) problems.push(`${entry}: name "${parsed.data.name}" differs from its file name "${name}"`);
    else bundle.flows.push(parsed.data);
  }

  for (const entry of files.keys()) {
    if (!expected.has(entry)) problems.push(`entry "${entry}" is not part of an ao config archive`);
  }
  for (const folder of folders) {
    if (!EXPECTED_FOLDERS.has(folder) && !isScriptFolder(folder, manifest)) problems.push(`entry "${folder}/" is not part of an ao config archive`);
  }
  for (const list of [manifest.agents, manifest.scripts, manifest.profiles, manifest.flows]) {
    const duplicate = list.find((name, index) => list.indexOf(name) !== index);
    if (duplicate) problems.push(`${MANIFEST_FILE}: "${duplicate}" is listed twice`);
  }
  if (problems.length) refuse();
  return { manifest, bundle };
}

const isScriptFolder = (entry: string, manifest: ArchiveManifest): boolean => entry.startsWith('scripts/') && manifest.scripts.includes(entry.slice('scripts/'.length));
