import fs from 'node:fs/promises';
import path from 'node:path';
import { Agent } from '../contract/config-files.js';
import { Name } from '../contract/names.js';
import { AgentNotFoundError, InvalidConfigFileError } from '../contract/errors.js';
import { readNamedConfigFile, subfolderNames, writeFileAtomically } from './files.js';
import { schemaFieldProblems } from '../contract/json-schema.js';

/** Agents live as files, `config/agents/<name>/agent.json` plus an optional `prompt.md`, so they diff well in git. */
export function agentDir(configDir: string, name: string): string {
  // The name is checked before it becomes part of a path.
  return path.join(configDir, 'agents', Name.parse(name));
}

export async function loadAgent(configDir: string, name: string): Promise<Agent> {
  if (!Name.safeParse(name).success) throw new AgentNotFoundError(name);
  const dir = agentDir(configDir, name);
  const agent = await readNamedConfigFile(path.join(dir, 'agent.json'), name, Agent, `folder "${name}"`);
  if (!agent) throw new AgentNotFoundError(name);
  const prompt = await fs.readFile(path.join(dir, 'prompt.md'), 'utf8').catch(() => undefined);
  return prompt !== undefined && agent.system_prompt === undefined ? { ...agent, system_prompt: prompt } : agent;
}

export type AgentListing = Agent | { name: string; error: string };

/** Every agent; a broken one is listed with its error and never hides the others. */
export async function listAgents(configDir: string): Promise<AgentListing[]> {
  return Promise.all(
    (await subfolderNames(path.join(configDir, 'agents'), (name) => Name.safeParse(name).success)).map((name) =>
      loadAgent(configDir, name).catch((error: unknown): AgentListing => ({ name, error: error instanceof Error ? error.message : String(error) })),
    ),
  );
}

/** Whether a broken agent file names the script: by its field when it parses, else (to be safe) anywhere. */
function brokenFileNamesScript(raw: string, script: string): boolean {
  try {
    return (JSON.parse(raw) as { script?: unknown }).script === script;
  } catch {
    return raw.includes(`"${script}"`);
  }
}

/** The agents that run this script, a broken one too when its file names it: a script they need cannot be deleted. */
export async function agentsUsingScript(configDir: string, script: string): Promise<string[]> {
  const users: string[] = [];
  for (const agent of await listAgents(configDir)) {
    if ('error' in agent) {
      const raw = await fs.readFile(path.join(agentDir(configDir, agent.name), 'agent.json'), 'utf8').catch(() => '');
      if (brokenFileNamesScript(raw, script)) users.push(agent.name);
    } else if (agent.script === script) users.push(agent.name);
  }
  return users;
}

/**
 * Writes an agent's files. A prompt kept in `prompt.md` stays there (agent.json then holds the rest),
 * so an agent edited through the API still diffs well.
 */
export async function saveAgent(configDir: string, agent: Agent): Promise<Agent> {
  const problems = schemaFieldProblems(agent, ['parameters_schema', 'output_schema']);
  if (problems.length) throw new InvalidConfigFileError(`agent ${agent.name}`, problems);
  const dir = agentDir(configDir, agent.name);
  await fs.mkdir(dir, { recursive: true });
  const promptFile = path.join(dir, 'prompt.md');
  const keepsPromptFile = await fs.access(promptFile).then(
    () => true,
    () => false,
  );
  const { system_prompt: prompt, ...rest } = agent;
  if (keepsPromptFile && prompt !== undefined) await writeFileAtomically(promptFile, prompt);
  if (keepsPromptFile && prompt === undefined) await fs.rm(promptFile, { force: true });
  await writeFileAtomically(path.join(dir, 'agent.json'), `${JSON.stringify(keepsPromptFile ? rest : agent, null, 2)}\n`);
  return agent;
}

export async function deleteAgent(configDir: string, name: string): Promise<void> {
  if (!Name.safeParse(name).success) throw new AgentNotFoundError(name);
  const dir = agentDir(configDir, name);
  await fs.access(dir).catch(() => {
    throw new AgentNotFoundError(name);
  });
  await fs.rm(dir, { recursive: true, force: true });
}
