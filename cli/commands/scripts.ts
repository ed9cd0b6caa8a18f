import type { Command } from 'commander';
import { Agent, Script } from '../../core/contract/config-files.js';
import { ScriptList } from '../../core/contract/http.js';
import { contextOf } from '../context.js';
import { ApiError } from '../errors.js';
import { pushScript, readScriptFolder } from '../script-folder.js';

const encode = encodeURIComponent;

/** Scripts: list, show, and push a folder (create or update). */
export function registerScriptCommands(program: Command): void {
  const scripts = program
    .command('scripts')
    .description('list the scripts (`ao scripts push <dir>` creates or updates one)')
    .action(async (_options: unknown, command: Command) => {
      const { out, client } = contextOf(command);
      const list = await client.get('/scripts', { schema: ScriptList });
      if (out.json) return out.data(list);
      out.table(
        ['NAME', 'FILE', 'VERSION', 'DESCRIPTION'],
        list.scripts.map((script) => ('error' in script ? [script.name, 'BROKEN', '', script.error] : [script.name, script.script_file, script.version.slice(0, 12), script.description])),
      );
    });
  scripts
    .command('show')
    .description('show one script with its content')
    .argument('<name>', 'the script')
    .action(async (name: string, _options: unknown, command: Command) => {
      const { out, client } = contextOf(command);
      const script = await client.get(`/scripts/${encode(name)}`, { schema: Script });
      if (out.json) return out.data(script);
      const { script_content: content, ...definition } = script;
      out.fields(Object.entries(definition).map(([key, value]) => [key, typeof value === 'string' ? value : JSON.stringify(value)]));
      out.text(`--- ${script.script_file}\n${content}`);
    });
  scripts
    .command('push')
    .description('create or update a script from a folder: script.json (its name defaults to the folder’s) and the file it names')
    .argument('<dir>', 'the script’s folder')
    .option('--agent', 'also create a procedural agent of the same name that runs it, unless an agent of that name exists')
    .action(async (dir: string, options: { agent?: boolean }, command: Command) => {
      const { out, client } = contextOf(command);
      const script = await readScriptFolder(dir);
      const pushed = await pushScript(client, script);
      let agent: 'created' | 'exists' | undefined;
      if (options.agent) {
        agent = await client.post('/agents', { body: { name: script.name, type: 'procedural', script: script.name }, schema: Agent }).then(
          () => 'created' as const,
          (error: unknown) => {
            if (error instanceof ApiError && error.status === 409) return 'exists' as const;
            throw error;
          },
        );
      }
      if (out.json) return out.data({ action: pushed.action, script: pushed.script, ...(agent ? { agent } : {}) });
      out.text(`script ${pushed.script.name} ${pushed.action} (version ${pushed.script.version.slice(0, 12)})${agent ? `; agent ${script.name} ${agent === 'created' ? 'created' : 'already exists'}` : ''}`);
    });
}
