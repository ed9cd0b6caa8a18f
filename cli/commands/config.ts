import path from 'node:path';
import type { Command } from 'commander';
import { Script } from '../../core/contract/config-files.js';
import { AgentList, ProfileList, ScriptList } from '../../core/contract/http.js';
import { FlowList } from '../../core/contract/flows.js';
import type { ApiClient } from '../api-client.js';
import { packConfigBundle, readConfigArchive, type ConfigBundle } from '../config-archive.js';
import { applyImport, existingScriptNames, planImport, type PlannedChange } from '../config-import.js';
import { contextOf } from '../context.js';
import { CliError } from '../errors.js';
import type { Output } from '../output.js';

/** Everything the API holds that an archive carries; a broken entry refuses the export rather than leave it out. */
async function collectBundle(client: ApiClient): Promise<ConfigBundle> {
  const [agents, scripts, profiles, flows] = await Promise.all([
    client.get('/agents', { schema: AgentList }),
    client.get('/scripts', { schema: ScriptList }),
    client.get('/profiles', { schema: ProfileList }),
    client.get('/flows', { schema: FlowList }),
  ]);
  const broken = [
    ...agents.agents.filter((entry) => 'error' in entry).map((entry) => `agent ${entry.name}: ${'error' in entry ? entry.error : ''}`),
    ...scripts.scripts.filter((entry) => 'error' in entry).map((entry) => `script ${entry.name}: ${'error' in entry ? entry.error : ''}`),
    ...profiles.profiles.filter((entry) => 'error' in entry).map((entry) => `profile ${entry.name}: ${'error' in entry ? entry.error : ''}`),
    ...flows.flows.filter((entry) => 'error' in entry).map((entry) => `flow ${entry.name}: ${'error' in entry ? entry.error : ''}`),
  ];
  if (broken.length) throw new CliError('some entries are broken on the API; fix them before exporting', undefined, { broken });
  const fullScripts = await Promise.all(
    scripts.scripts.map(async ({ name }) => {
      const { version: _version, ...script } = await client.get(`/scripts/${encodeURIComponent(name)}`, { schema: Script });
      return script;
    }),
  );
  return {
    agents: agents.agents.flatMap((entry) => ('error' in entry ? [] : [entry])),
    scripts: fullScripts,
    profiles: profiles.profiles.flatMap((entry) => ('error' in entry ? [] : [{ name: entry.name, profile: entry.profile }])),
    flows: flows.flows.flatMap((entry) => ('error' in entry ? [] : [entry])),
  };
}

const defaultArchiveName = (): string => `ao-config-${new Date().toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '-')}.tar.gz`;

function printChanges(out: Output, changes: PlannedChange[], verb: string): void {
  out.table(
    ['KIND', 'NAME', verb],
    changes.map((change) => [change.kind, change.name, `${change.action}${change.reason ? ` (${change.reason})` : ''}`]),
  );
}

/** `ao config export|import`: the whole configuration as one tar.gz (README: "Export archives"). */
export function registerConfigCommands(program: Command): void {
  const config = program.command('config').description('export or import agents, scripts, flows and profiles as one tar.gz');
  config
    .command('export')
    .description('write agents, scripts (with their files), flows and profiles to a tar.gz')
    .option('-o, --output <file>', 'the archive to write (default: ao-config-<time>.tar.gz here)')
    .action(async (options: { output?: string }, command: Command) => {
      const { out, client } = contextOf(command);
      const file = path.resolve(options.output ?? defaultArchiveName());
      const manifest = await packConfigBundle(await collectBundle(client), file);
      if (out.json) return out.data({ file, manifest });
      out.text(`${file}: ${manifest.agents.length} agents, ${manifest.scripts.length} scripts, ${manifest.profiles.length} profiles, ${manifest.flows.length} flows`);
    });
  config
    .command('import')
    .description('check a whole archive, then apply it through the API; nothing is written when any entry is refused')
    .argument('<file>', 'an archive of ao config export')
    .option('--overwrite', 'replace entries that exist and differ (default: refuse, listing them)')
    .option('--profiles-dir <dir>', 'write the profiles into this folder (a runner’s profiles dir); without it they are compared only')
    .option('--dry-run', 'check and show what would change, write nothing')
    .action(async (file: string, options: { overwrite?: boolean; profilesDir?: string; dryRun?: boolean }, command: Command) => {
      const { out, client } = contextOf(command);
      const importOptions = { overwrite: options.overwrite === true, ...(options.profilesDir ? { profilesDir: path.resolve(options.profilesDir) } : {}) };
      const { bundle } = await readConfigArchive(file, await existingScriptNames(client));
      const plan = await planImport(client, bundle, importOptions);
      const changes = options.dryRun ? plan : (await applyImport(client, bundle, plan, importOptions), plan);
      if (out.json) return out.data({ dry_run: options.dryRun === true, changes });
      printChanges(out, changes, options.dryRun ? 'WOULD' : 'DONE');
      for (const skipped of changes.filter((change) => change.action === 'skip')) out.note(`profile ${skipped.name} not written: ${skipped.reason}`);
    });
}
