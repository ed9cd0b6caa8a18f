import fs from 'node:fs/promises';
import path from 'node:path';
import { Agent, Script } from '../core/contract/config-files.js';
import { AGENT_CLEARABLE_FIELDS, AgentList, ProfileList, ScriptList, type CreateScriptRequest } from '../core/contract/http.js';
import { Name } from '../core/contract/names.js';
import { Flow, FlowList } from '../core/contract/flows.js';
import { writeFileAtomically } from '../core/config/files.js';
import { listProfiles } from '../core/config/profiles.js';
import type { ApiClient } from './api-client.js';
import type { ConfigBundle, NamedProfile } from './config-archive.js';
import { CliError } from './errors.js';
import { scriptReplacement, versionOf } from './script-folder.js';

export type EntryKind = 'script' | 'agent' | 'flow' | 'profile';

/** What importing one entry does: create it, replace a different one (`--overwrite`), nothing (the same), or skip it. */
export interface PlannedChange {
  kind: EntryKind;
  name: string;
  action: 'create' | 'update' | 'unchanged' | 'skip';
  reason?: string;
}

/** The entries that differ from what is there, refused without `--overwrite`. */
export class ImportConflictError extends CliError {
  constructor(readonly conflicts: string[]) {
    super('the archive differs from what is there; nothing was imported (--overwrite replaces them)', undefined, { conflicts });
    this.name = 'ImportConflictError';
  }
}

/** Where profiles go: they are files on each runner's machine, so the API cannot write them; `--profiles-dir` can. */
export interface ImportOptions {
  overwrite: boolean;
  profilesDir?: string;
}

/** JSON with sorted keys: equal entries compare equal whatever order their fields came in. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.entries(value as Record<string, unknown>)
      .filter(([, item]) => item !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([key, item]) => `${JSON.stringify(key)}:${canonical(item)}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}
const same = (a: unknown, b: unknown): boolean => canonical(a) === canonical(b);

/** The script names the API has: procedural agents of the archive may name them. */
export async function existingScriptNames(client: ApiClient): Promise<Set<string>> {
  return new Set((await client.get('/scripts', { schema: ScriptList })).scripts.map((script) => script.name));
}

async function targetProfiles(client: ApiClient, profilesDir: string | undefined): Promise<Map<string, unknown>> {
  const listing = profilesDir ? await listProfiles(profilesDir) : (await client.get('/profiles', { schema: ProfileList })).profiles;
  return new Map(listing.map((entry) => [entry.name, 'error' in entry ? { broken: entry.error } : entry.profile]));
}

/** Compares the bundle with the API (and the profiles dir); refuses with every conflict unless `overwrite`. Writes nothing. */
export async function planImport(client: ApiClient, bundle: ConfigBundle, options: ImportOptions): Promise<PlannedChange[]> {
  const [agents, scripts, profiles, flows] = await Promise.all([
    client.get('/agents', { schema: AgentList }),
    client.get('/scripts', { schema: ScriptList }),
    targetProfiles(client, options.profilesDir),
    client.get('/flows', { schema: FlowList }),
  ]);
  const flowsByName = new Map(flows.flows.map((flow) => [flow.name, flow]));
  const agentsByName = new Map(agents.agents.map((agent) => [agent.name, agent]));
  const scriptsByName = new Map(scripts.scripts.map((script) => [script.name, script]));
  const changes: PlannedChange[] = [];
  const conflicts: string[] = [];
  const compare = (kind: EntryKind, name: string, current: unknown, isSame: boolean): void => {
    if (current === undefined) changes.push({ kind, name, action: 'create' });
    else if (typeof current === 'object' && current !== null && ('error' in current || 'broken' in current)) {
      conflicts.push(`${kind} ${name} is broken where it is imported: fix or delete it first`);
    } else if (isSame) changes.push({ kind, name, action: 'unchanged' });
    else if (options.overwrite) changes.push({ kind, name, action: 'update' });
    else conflicts.push(`${kind} ${name} exists and differs`);
  };
  for (const script of bundle.scripts) {
    const current = scriptsByName.get(script.name);
    compare('script', script.name, current, current !== undefined && 'version' in current && current.version === versionOf(script));
  }
  for (const agent of bundle.agents) {
    const current = agentsByName.get(agent.name);
    compare('agent', agent.name, current, same(current, agent));
  }
  for (const flow of bundle.flows) {
    const current = flowsByName.get(flow.name);
    compare('flow', flow.name, current, same(current, flow));
  }
  for (const { name, profile } of bundle.profiles) {
    const current = profiles.get(name);
    if (!options.profilesDir) {
      const isSame = current !== undefined && same(current, profile);
      changes.push({ kind: 'profile', name, action: isSame ? 'unchanged' : 'skip', ...(isSame ? {} : { reason: 'profiles are files on each runner: give --profiles-dir to write them' }) });
    } else compare('profile', name, current, same(current, profile));
  }
  if (conflicts.length) throw new ImportConflictError(conflicts);
  return changes;
}

/** The PATCH that makes a stored agent this one: every field but the name, `null` for an optional one it lacks. */
function agentReplacement({ name: _name, ...agent }: Agent): Record<string, unknown> {
  return { ...Object.fromEntries(AGENT_CLEARABLE_FIELDS.map((field) => [field, null])), ...agent };
}

/**
 * Applies a plan through the API, scripts before the agents that run them, flows after the agents they name; profiles into the
 * profiles dir. Returns what was done; an API refusal midway (all was checked, so it should not
 * come) leaves the entries before it applied, and the error names the entry.
 */
export async function applyImport(client: ApiClient, bundle: ConfigBundle, changes: PlannedChange[], options: ImportOptions): Promise<PlannedChange[]> {
  const scripts = new Map<string, CreateScriptRequest>(bundle.scripts.map((script) => [script.name, script]));
  const agents = new Map<string, Agent>(bundle.agents.map((agent) => [agent.name, agent]));
  const profiles = new Map<string, NamedProfile>(bundle.profiles.map((profile) => [profile.name, profile]));
  const flows = new Map<string, Flow>(bundle.flows.map((flow) => [flow.name, flow]));
  const done: PlannedChange[] = [];
  // Flows after the agents they name: the API refuses a flow whose agents do not exist.
  const order: EntryKind[] = ['script', 'agent', 'flow', 'profile'];
  for (const kind of order) {
    for (const change of changes.filter((item) => item.kind === kind && (item.action === 'create' || item.action === 'update'))) {
      const encoded = encodeURIComponent(change.name);
      try {
        if (kind === 'script') {
          const script = scripts.get(change.name)!;
          if (change.action === 'create') await client.post('/scripts', { body: script, schema: Script });
          else await client.patch(`/scripts/${encoded}`, { body: scriptReplacement(script), schema: Script });
        } else if (kind === 'agent') {
          const agent = agents.get(change.name)!;
          if (change.action === 'create') await client.post('/agents', { body: agent, schema: Agent });
          else await client.patch(`/agents/${encoded}`, { body: agentReplacement(agent), schema: Agent });
        } else if (kind === 'flow') {
          const { name: _name, ...definition } = flows.get(change.name)!;
          // PUT creates or replaces: the plan said which.
          await client.put(`/flows/${encoded}`, { body: definition, schema: Flow });
        } else {
          const dir = options.profilesDir!;
          await fs.mkdir(dir, { recursive: true });
          await writeFileAtomically(path.join(dir, `${Name.parse(change.name)}.json`), `${JSON.stringify(profiles.get(change.name)!.profile, null, 2)}\n`);
        }
      } catch (error) {
        const applied = done.length ? `; applied before it: ${done.map((item) => `${item.kind} ${item.name}`).join(', ')}` : '';
        throw new CliError(`${kind} ${change.name}: ${error instanceof Error ? error.message : String(error)}${applied}`, undefined, error instanceof CliError ? error.details : undefined);
      }
      done.push(change);
    }
  }
  return done;
}
