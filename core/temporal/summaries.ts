import type { RunnerRegistration } from '../contract/fleet.js';
import type { RunInput } from '../contract/workflow-io.js';

/**
 * What the Temporal UI shows of ao's workflows: a one-line summary in the list and on top of the
 * workflow's page, and details (Temporal markdown) beneath it. Fixed when the workflow starts.
 */

/** The list's summary keeps to one short line; the details hold the longer prompt. */
const SUMMARY_PROMPT_CHARS = 80;
const DETAILS_PROMPT_CHARS = 600;

/** The first line of `text`, cut to `max` characters with an ellipsis. */
function head(text: string, max: number): string {
  const firstLine = text.trim().split('\n', 1)[0] ?? '';
  const cut = firstLine.length > max || text.trim().includes('\n');
  return `${firstLine.slice(0, max).trimEnd()}${cut ? '…' : ''}`;
}

/** Markdown would read `*`, `_`, backticks and brackets of a prompt as formatting. */
const plain = (text: string): string => text.replace(/[\\`*_[\]<>#|]/g, (char) => `\\${char}`);

/** `coder: "fix the failing test…"`, or the agent alone when there is no prompt. */
export function runSummary(input: Pick<RunInput, 'agent' | 'prompt'>): string {
  return input.prompt?.trim() ? `${input.agent}: “${plain(head(input.prompt, SUMMARY_PROMPT_CHARS))}”` : input.agent;
}

export function runDetails(input: RunInput): string {
  const parameters = Object.keys(input.parameters);
  const tags = input.additional_demands?.tags ?? [];
  return [
    `**agent** ${input.agent} · **session** ${input.session_id}${input.session_mode === 'resume' ? ' (resumed)' : ''}`,
    ...(parameters.length ? [`**parameters** ${parameters.map(plain).join(', ')}`] : []),
    ...(tags.length ? [`**extra tags** ${tags.map(plain).join(', ')}`] : []),
    ...(input.prompt?.trim() ? ['', `> ${plain(head(input.prompt.replace(/\s+/g, ' '), DETAILS_PROMPT_CHARS))}`] : []),
    '',
    'The runner it runs on is in the current details, and in the summary of its `execute` activity.',
  ].join('\n');
}

/** `runner <id>: <profile> on <host>`. */
export function runnerSummary(registration: RunnerRegistration): string {
  return `runner ${registration.runner_id}: ${registration.executor_profile} on ${registration.hostname}`;
}

export function runnerDetails(registration: RunnerRegistration): string {
  return [
    `**profile** ${registration.executor_profile} (${registration.executor.type}) · **capacity** ${registration.capacity}`,
    `**project** ${plain(registration.project_dir)}`,
    ...(registration.tags.length ? [`**tags** ${registration.tags.map(plain).join(', ')}`] : []),
  ].join('\n');
}
