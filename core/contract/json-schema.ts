import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';

/**
 * Compiled validators by schema text. Each schema gets an Ajv instance of its own: a shared one
 * would refuse a second schema with the same `$id` and keep every schema it ever compiled.
 */
const compiled = new Map<string, ValidateFunction>();
const MAX_COMPILED = 500;

function compile(schema: unknown): ValidateFunction {
  const key = JSON.stringify(schema);
  const cached = compiled.get(key);
  if (cached) return cached;
  const validate = new Ajv({ allErrors: true, strict: false }).compile(schema as Record<string, unknown>);
  if (compiled.size >= MAX_COMPILED) compiled.delete(compiled.keys().next().value!);
  compiled.set(key, validate);
  return validate;
}

function describeError(error: ErrorObject): string {
  const where = error.instancePath ? error.instancePath.slice(1).replaceAll('/', '.') : 'parameters';
  if (error.keyword === 'additionalProperties') return `${where}: unknown field "${String(error.params.additionalProperty)}"`;
  return `${where}: ${error.message ?? 'is invalid'}`;
}

/** Problems of `value` against a JSON Schema, as lines a user can act on; empty when valid. */
export function jsonSchemaProblems(schema: Record<string, unknown>, value: unknown): string[] {
  const validate = compile(schema);
  return validate(value) ? [] : (validate.errors ?? []).map(describeError);
}

/** Problems of the JSON Schemas an object holds under `keys`, each line prefixed with its key. */
export function schemaFieldProblems<T extends object>(holder: T, keys: ReadonlyArray<keyof T & string>): string[] {
  return keys.flatMap((key) => {
    const schema = holder[key];
    return schema === undefined ? [] : schemaProblems(schema).map((problem) => `${key}: ${problem}`);
  });
}

/** Problems of a JSON Schema itself; empty when it is a valid schema. */
export function schemaProblems(schema: unknown): string[] {
  try {
    compile(schema);
    return [];
  } catch (error) {
    return [(error as Error).message];
  }
}
