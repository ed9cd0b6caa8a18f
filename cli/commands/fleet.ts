import { Option, type Command } from 'commander';
import { Agent } from '../../core/contract/config-files.js';
import { RUNNER_STATUSES } from '../../core/contract/fleet.js';
import { AgentList, ProfileList, RunnerList } from '../../core/contract/http.js';
import { PrincipalView } from '../../core/contract/identity.js';
import { contextOf } from '../context.js';
import { shortTime } from '../output.js';

const encode = encodeURIComponent;

/** The fleet and what runs on it: runners, profiles, agents; and who the caller is. */
export function registerFleetCommands(program: Command): void {
  program
    .command('runners')
    .description('list the registered runners')
    .addOption(new Option('--status <status>', 'only runners with this status').choices(RUNNER_STATUSES))
    .action(async (options: { status?: string }, command: Command) => {
      const { out, client } = contextOf(command);
      const list = await client.get('/runners', { query: { status: options.status }, schema: RunnerList });
      if (out.json) return out.data(list);
      out.table(
        ['ID', 'STATUS', 'LOAD', 'PROFILE', 'TAGS', 'HOST', 'HEARTBEAT'],
        list.runners.map((runner) => [
          runner.runner_id,
          runner.status,
          `${runner.load}/${runner.capacity}`,
          runner.registration.executor_profile,
          runner.registration.tags.join(','),
          runner.registration.hostname,
          shortTime(runner.last_heartbeat_at),
        ]),
      );
    });

  program
    .command('profiles')
    .description('list the executor profiles the API knows')
    .action(async (_options: unknown, command: Command) => {
      const { out, client } = contextOf(command);
      const list = await client.get('/profiles', { schema: ProfileList });
      if (out.json) return out.data(list);
      out.table(
        ['NAME', 'TYPE', 'DESCRIPTION'],
        list.profiles.map((entry) => ('error' in entry ? [entry.name, 'BROKEN', entry.error] : [entry.name, entry.profile.type, entry.profile.description ?? ''])),
      );
    });

  const agents = program
    .command('agents')
    .description('list the agents (`ao agents show <name>` for one)')
    .action(async (_options: unknown, command: Command) => {
      const { out, client } = contextOf(command);
      const list = await client.get('/agents', { schema: AgentList });
      if (out.json) return out.data(list);
      out.table(
        ['NAME', 'TYPE', 'STATUS', 'SCRIPT', 'DESCRIPTION'],
        list.agents.map((agent) => ('error' in agent ? [agent.name, 'BROKEN', '', '', agent.error] : [agent.name, agent.type, agent.status, agent.script ?? '', agent.description])),
      );
    });
  agents
    .command('show')
    .description('show one agent')
    .argument('<name>', 'the agent')
    .action(async (name: string, _options: unknown, command: Command) => {
      const { out, client } = contextOf(command);
      const agent = await client.get(`/agents/${encode(name)}`, { schema: Agent });
      if (out.json) return out.data(agent);
      const { system_prompt: prompt, parameters_schema: parameters, output_schema: output, ...rest } = agent;
      out.fields(Object.entries(rest).map(([key, value]) => [key, typeof value === 'string' ? value : JSON.stringify(value)]));
      if (parameters) out.text(`parameters_schema: ${JSON.stringify(parameters)}`);
      if (output) out.text(`output_schema: ${JSON.stringify(output)}`);
      if (prompt) out.text(`system_prompt:\n${prompt}`);
    });

  program
    .command('whoami')
    .description('the token’s name and role, and the API it was sent to')
    .action(async (_options: unknown, command: Command) => {
      const { out, client } = contextOf(command);
      const principal = await client.get('/whoami', { schema: PrincipalView });
      if (out.json) return out.data(principal);
      out.fields([
        ['name', principal.name],
        ['role', principal.role],
        ['api', client.baseUrl],
      ]);
    });
}
