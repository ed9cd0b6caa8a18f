import { jsonSchemaProblems } from '../../core/contract/json-schema.js';
import type { ExecutorOutput } from '../../core/contract/executor-protocol.js';

/**
 * An agent's `output_schema`, for every CLI driver: the note that asks for the answer format (for
 * CLIs that have no means of their own, and as a reminder for those that do) and the check of the
 * final answer, whose parsed value becomes `result_data.output`.
 */

/** The prompt note asking for the final answer as JSON matching `schema`. */
export function answerFormatNote(schema: Record<string, unknown>): string {
  return `End with your final answer as one JSON value, and nothing else, matching this JSON Schema:\n${JSON.stringify(schema)}`;
}

/** The agent's structured answer: the final text parsed as JSON (code fences allowed) and checked against its schema. */
export function structuredAnswer(text: unknown, schema: Record<string, unknown>): { output: unknown } | { error: string } {
  const raw = typeof text === 'string' ? text.trim().replace(/^```(?:json)?\s*/, '').replace(/\s*```$/, '') : '';
  let output: unknown;
  try {
    output = JSON.parse(raw);
  } catch {
    return { error: `the final answer is not JSON: ${raw.slice(0, 200)}` };
  }
  const problems = jsonSchemaProblems(schema, output);
  return problems.length ? { error: `the final answer does not match the output schema: ${problems.join('; ')}` } : { output };
}

/**
 * A completed run's output with its structured answer (`result_data.output`), read from the final
 * text (`result_data.text`); a run whose answer is not JSON matching the schema fails, saying why.
 */
export function withStructuredAnswer(output: ExecutorOutput, schema: Record<string, unknown> | undefined): ExecutorOutput {
  if (!schema || output.status !== 'completed') return output;
  const data = (output.result_data ?? {}) as Record<string, unknown>;
  const answer = structuredAnswer(data.text, schema);
  if ('error' in answer) return { ...output, status: 'failed', error: answer.error };
  return { ...output, result_data: { ...data, output: answer.output } };
}
