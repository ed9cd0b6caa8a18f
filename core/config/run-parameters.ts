import { InvalidConfigFileError, ParametersInvalidError, ScriptNotFoundError } from '../contract/errors.js';
import { jsonSchemaProblems } from '../contract/json-schema.js';
import { flagNameProblems } from '../contract/procedural-parameters.js';
import { loadScript } from './scripts.js';
import type { Agent, Script } from '../contract/config-files.js';

/**
 * Checks a run's parameters against what its agent takes: the agent's schema, else (for a
 * procedural agent) its script's, and for procedural agents names that can be flags. Returns the
 * script the check used, so the run is pinned to that version. The API checks before it accepts a
 * run; the workflow checks again just before dispatch, against the script as it is then.
 */
export async function checkRunParameters(configDir: string, agent: Agent, parameters: Record<string, unknown>): Promise<Script | undefined> {
  const script = agent.script
    ? await loadScript(configDir, agent.script).catch((error: unknown) => {
        // The agent exists; what it needs does not: the agent is what is broken.
        if (error instanceof ScriptNotFoundError) throw new InvalidConfigFileError(`agent ${agent.name}`, [`script: ${error.message}`]);
        throw error;
      })
    : undefined;
  const schema = agent.parameters_schema ?? script?.parameters_schema;
  const problems = [...(schema ? jsonSchemaProblems(schema, parameters) : []), ...(agent.type === 'procedural' ? flagNameProblems(parameters) : [])];
  if (problems.length) throw new ParametersInvalidError(problems, schema);
  return script;
}
