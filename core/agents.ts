import fs from 'node:fs/promises';
import path from 'node:path';
import { Agent, Name } from './schemas.js';
import { AgentNotFoundError, InvalidConfigFileError, describeIssues } from './errors.js';

/** Agents live as files, `config/agents/<name>/agent.json` plus an optional `prompt.md`, so they diff well in git. */
export function agentDir(configDir: string, name: string): string {
  // The name is checked before it becomes part of a path.
  return path.join(configDir, 'agents', Name.parse(name));
}

export async function loadAgent(configDir: string, name: string): Promise<Agent> {
  if (!Name.safeParse(name).success) throw new AgentNotFoundError(name);
  const dir = agentDir(configDir, name);
  const file = path.join(dir, 'agent.json');
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new AgentNotFoundError(name);
    throw error;
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new InvalidConfigFileError(file, [(error as Error).message]);
  }
  const parsed = Agent.safeParse({ name, ...(raw as object) });
  if (!parsed.success) throw new InvalidConfigFileError(file, describeIssues(parsed.error.issues));
  if (parsed.data.name !== name) throw new InvalidConfigFileError(file, [`name "${parsed.data.name}" differs from its folder "${name}"`]);
  const promptFile = path.join(dir, 'prompt.md');
  const prompt = await fs.readFile(promptFile, 'utf8').catch(() => undefined);
  return prompt !== undefined && parsed.data.system_prompt === undefined ? { ...parsed.data, system_prompt: prompt } : parsed.data;
}
