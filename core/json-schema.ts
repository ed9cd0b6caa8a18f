import { Ajv, type ErrorObject } from 'ajv';

const ajv = new Ajv({ allErrors: true, strict: false });

function describeError(error: ErrorObject): string {
  const where = error.instancePath ? error.instancePath.slice(1).replaceAll('/', '.') : 'parameters';
  if (error.keyword === 'additionalProperties') return `${where}: unknown field "${String(error.params.additionalProperty)}"`;
  return `${where}: ${error.message ?? 'is invalid'}`;
}

/** Problems of `value` against a JSON Schema, as lines a user can act on; empty when valid. */
export function jsonSchemaProblems(schema: Record<string, unknown>, value: unknown): string[] {
  const validate = ajv.compile(schema);
  return validate(value) ? [] : (validate.errors ?? []).map(describeError);
}

/** Problems of a JSON Schema itself; empty when it is a valid schema. */
export function schemaProblems(schema: unknown): string[] {
  try {
    ajv.compile(schema as Record<string, unknown>);
    return [];
  } catch (error) {
    return [(error as Error).message];
  }
}
