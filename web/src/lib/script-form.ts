import { describeIssues } from '../../../core/contract/errors';
import { CreateScriptRequest } from '../../../core/contract/http';
import type { Script, ScriptInput } from '../api/contract';
import { toJson } from './format';
import { parseJsonObject } from './schema-form';

export interface ScriptForm {
  name: string;
  script_file: string;
  description: string;
  script_content: string;
  parameters_schema: string;
  demand_tags: string[];
}

export function emptyScriptForm(): ScriptForm {
  return { name: '', script_file: '', description: '', script_content: '', parameters_schema: '', demand_tags: [] };
}

export function scriptToForm(script: Script): ScriptForm {
  return {
    name: script.name,
    script_file: script.script_file,
    description: script.description,
    script_content: script.script_content,
    parameters_schema: script.parameters_schema ? toJson(script.parameters_schema) : '',
    demand_tags: [...(script.demands?.tags ?? [])],
  };
}

/** The request body the form describes, checked with the API's own schema; problems name the field. */
export function formToScript(form: ScriptForm): { value?: ScriptInput; problems: string[] } {
  const parameters = parseJsonObject('parameters schema', form.parameters_schema);
  const candidate = {
    name: form.name.trim(),
    script_file: form.script_file.trim(),
    description: form.description,
    script_content: form.script_content,
    ...(parameters.value ? { parameters_schema: parameters.value } : {}),
    demands: { tags: form.demand_tags },
  };
  const parsed = CreateScriptRequest.safeParse(candidate);
  const problems = [...(parameters.problem ? [parameters.problem] : []), ...(parsed.success ? [] : describeIssues(parsed.error.issues))];
  return problems.length ? { problems } : { value: candidate, problems };
}
