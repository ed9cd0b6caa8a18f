import { deleteAgent, listAgents, loadAgent, saveAgent, type AgentListing } from '../core/config/agents.js';
import { AgentNotFoundError, ConfigConflictError, InvalidConfigFileError } from '../core/contract/errors.js';
import { loadScript } from '../core/config/scripts.js';
import { Agent } from '../core/contract/config-files.js';
import { type UpdateAgentRequest } from '../core/contract/http.js';
import type { ConfigLock } from './config-lock.js';

/** Agents: files under the config dir. An agent's script must exist when the agent is saved. */
export class AgentsService {
  constructor(private readonly configDir: string, private readonly lock: ConfigLock) {}

  list(): Promise<AgentListing[]> {
    return listAgents(this.configDir);
  }

  get(name: string): Promise<Agent> {
    return loadAgent(this.configDir, name);
  }

  create(agent: Agent): Promise<Agent> {
    return this.lock.run(async () => {
      const exists = await loadAgent(this.configDir, agent.name).then(
        () => true,
        (error: unknown) => !(error instanceof AgentNotFoundError),
      );
      if (exists) throw new ConfigConflictError(`agent "${agent.name}" already exists; change it with PATCH /agents/${agent.name}`);
      await this.checkScript(agent);
      return saveAgent(this.configDir, agent);
    });
  }

  /** Applies the given fields and removes the `cleared` ones; the result is validated whole (a ZodError is a 400). */
  update(name: string, changes: UpdateAgentRequest, cleared: string[] = []): Promise<Agent> {
    return this.lock.run(async () => {
      const current: Record<string, unknown> = { ...(await loadAgent(this.configDir, name)), ...changes, name };
      for (const key of cleared) delete current[key];
      const parsed = Agent.safeParse(current);
      if (!parsed.success) throw parsed.error;
      await this.checkScript(parsed.data);
      return saveAgent(this.configDir, parsed.data);
    });
  }

  delete(name: string): Promise<void> {
    return this.lock.run(() => deleteAgent(this.configDir, name));
  }

  private async checkScript(agent: Agent): Promise<void> {
    if (!agent.script) return;
    await loadScript(this.configDir, agent.script).catch((error: unknown) => {
      throw new InvalidConfigFileError(`agent ${agent.name}`, [`script: ${error instanceof Error ? error.message : String(error)}`]);
    });
  }
}
