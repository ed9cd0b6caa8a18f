import { describeIssues } from '../../../core/contract/errors';
import { AGENT_CLEARABLE_FIELDS } from '../../../core/contract/http';
import { Agent, EXECUTOR_TYPES, type AgentPatch, type AgentType } from '../api/contract';
import { toJson } from './format';
import { parseJsonObject } from './schema-form';

export { EXECUTOR_TYPES };

/** The agent editor's inputs: text where the agent has objects, so a half-typed schema is not lost. */
export interface AgentForm {
  name: string;
  description: string;
  type: AgentType['type'];
  system_prompt: string;
  script: string;
  /** A runner-local executable and its arguments, one per line (procedural agents without a script). */
  command: string;
  parameters_schema: string;
  output_schema: string;
  tags: string[];
  demand_tags: string[];
  executor_profile: string;
  executor_type: string;
  hostname: string;
  project_dir: string;
  active: boolean;
  timeout_seconds: string;
  workspace_mode: string;
  /** The agents its runs may start as child runs (ao's MCP server). */
  may_start: string[];
  /** Its pull request config as JSON text (`{ "remote": "origin", "command": [...] }`); empty: none. */
  pull_request: string;
}

export function emptyAgentForm(): AgentForm {
  return {
    name: '',
    description: '',
    type: 'autonomous',
    system_prompt: '',
    script: '',
    command: '',
    parameters_schema: '',
    output_schema: '',
    tags: [],
    demand_tags: [],
    executor_profile: '',
    executor_type: '',
    hostname: '',
    project_dir: '',
    active: true,
    timeout_seconds: '',
    workspace_mode: '',
    may_start: [],
    pull_request: '',
  };
}

export function agentToForm(agent: AgentType): AgentForm {
  return {
    name: agent.name,
    description: agent.description,
    type: agent.type,
    system_prompt: agent.system_prompt ?? '',
    script: agent.script ?? '',
    command: agent.command?.join('\n') ?? '',
    parameters_schema: agent.parameters_schema ? toJson(agent.parameters_schema) : '',
    output_schema: agent.output_schema ? toJson(agent.output_schema) : '',
    tags: [...agent.tags],
    demand_tags: [...agent.demands.tags],
    executor_profile: agent.demands.executor_profile ?? '',
    executor_type: agent.demands.executor_type ?? '',
    hostname: agent.demands.hostname ?? '',
    project_dir: agent.demands.project_dir ?? '',
    active: agent.status === 'active',
    timeout_seconds: agent.timeout_seconds ? String(agent.timeout_seconds) : '',
    workspace_mode: agent.workspace_mode ?? '',
    may_start: [...(agent.may_start ?? [])],
    pull_request: agent.pull_request ? toJson(agent.pull_request) : '',
  };
}

const optional = <K extends string>(key: K, value: string): Partial<Record<K, string>> => (value.trim() ? ({ [key]: value.trim() } as Record<K, string>) : {});

/** The agent the form describes, checked with the shared Agent schema; problems name the field. */
export function formToAgent(form: AgentForm): { value?: AgentType; problems: string[] } {
  const problems: string[] = [];
  const parameters = parseJsonObject('parameters schema', form.parameters_schema);
  const output = parseJsonObject('output schema', form.output_schema);
  const pullRequest = parseJsonObject('pull request', form.pull_request);
  for (const parsed of [parameters, output, pullRequest]) if (parsed.problem) problems.push(parsed.problem);
  const timeout = form.timeout_seconds.trim() ? Number(form.timeout_seconds) : undefined;
  const command = form.command.split('\n').map((line) => line.trim()).filter(Boolean);
  const procedural = form.type === 'procedural';
  const candidate = {
    name: form.name.trim(),
    description: form.description,
    type: form.type,
    ...(!procedural && form.system_prompt.trim() ? { system_prompt: form.system_prompt } : {}),
    ...(procedural ? optional('script', form.script) : {}),
    ...(procedural && command.length ? { command } : {}),
    ...(parameters.value ? { parameters_schema: parameters.value } : {}),
    ...(output.value ? { output_schema: output.value } : {}),
    tags: form.tags,
    demands: {
      tags: form.demand_tags,
      ...optional('executor_profile', form.executor_profile),
      ...optional('executor_type', form.executor_type),
      ...optional('hostname', form.hostname),
      ...optional('project_dir', form.project_dir),
    },
    status: form.active ? 'active' : 'inactive',
    ...(timeout !== undefined ? { timeout_seconds: timeout } : {}),
    ...optional('workspace_mode', form.workspace_mode),
    ...(form.may_start.length ? { may_start: form.may_start } : {}),
    ...(pullRequest.value ? { pull_request: pullRequest.value } : {}),
  };
  const parsed = Agent.safeParse(candidate);
  if (!parsed.success) problems.push(...describeIssues(parsed.error.issues));
  return problems.length || !parsed.success ? { problems } : { value: parsed.data, problems };
}

/** A PATCH that makes the stored agent equal to `agent`: every field set, the emptied ones cleared. */
export function agentPatch(agent: AgentType): AgentPatch {
  const { name: _name, ...fields } = agent;
  const cleared = Object.fromEntries(AGENT_CLEARABLE_FIELDS.filter((key) => fields[key] === undefined).map((key) => [key, null]));
  return { ...fields, ...cleared };
}
