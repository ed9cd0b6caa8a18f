/**
 * A form from an agent's `parameters_schema` (JSON Schema): one field per top-level property for
 * the kinds a form can express, a JSON text field for anything else. The API validates the result
 * against the schema again; this only turns typed text into typed values.
 */

export type FieldKind = 'string' | 'number' | 'integer' | 'boolean' | 'enum' | 'string-list' | 'json';

export interface FormField {
  name: string;
  kind: FieldKind;
  required: boolean;
  description?: string;
  options?: string[];
  minimum?: number;
  maximum?: number;
  default?: unknown;
}

/** What the inputs hold: text for every kind but booleans. */
export type FieldValues = Record<string, string | boolean>;

type JsonSchema = Record<string, unknown>;

const isObject = (value: unknown): value is JsonSchema => typeof value === 'object' && value !== null && !Array.isArray(value);

function kindOf(schema: JsonSchema): FieldKind {
  if (Array.isArray(schema.enum) && schema.enum.every((option) => typeof option === 'string')) return 'enum';
  switch (schema.type) {
    case 'string':
      return 'string';
    case 'number':
      return 'number';
    case 'integer':
      return 'integer';
    case 'boolean':
      return 'boolean';
    case 'array':
      return isObject(schema.items) && schema.items.type === 'string' && !Array.isArray(schema.items.enum) ? 'string-list' : 'json';
    default:
      return 'json';
  }
}

/** The form's fields, or undefined when the schema is not an object with properties (then: one JSON field). */
export function fieldsFromSchema(schema: JsonSchema | undefined): FormField[] | undefined {
  if (!schema || !isObject(schema.properties)) return undefined;
  const required = new Set(Array.isArray(schema.required) ? schema.required.map(String) : []);
  return Object.entries(schema.properties).map(([name, property]) => {
    const spec = isObject(property) ? property : {};
    const kind = kindOf(spec);
    return {
      name,
      kind,
      required: required.has(name),
      ...(typeof spec.description === 'string' ? { description: spec.description } : {}),
      ...(kind === 'enum' ? { options: (spec.enum as string[]).slice() } : {}),
      ...(typeof spec.minimum === 'number' ? { minimum: spec.minimum } : {}),
      ...(typeof spec.maximum === 'number' ? { maximum: spec.maximum } : {}),
      ...('default' in spec ? { default: spec.default } : {}),
    };
  });
}

/** The inputs' starting values: the schema's defaults, else empty. */
export function initialValues(fields: readonly FormField[]): FieldValues {
  return Object.fromEntries(
    fields.map((field) => {
      const value = field.default;
      if (field.kind === 'boolean') return [field.name, value === true];
      if (value === undefined) return [field.name, ''];
      if (field.kind === 'string-list' && Array.isArray(value)) return [field.name, value.map(String).join('\n')];
      if (field.kind === 'json') return [field.name, JSON.stringify(value, null, 2)];
      return [field.name, String(value as string | number)];
    }),
  );
}

/** Typed parameters from the inputs; empty optional fields are left out. Problems name the field. */
export function parametersFrom(fields: readonly FormField[], values: FieldValues): { parameters: Record<string, unknown>; problems: string[] } {
  const parameters: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const field of fields) {
    const raw = values[field.name];
    if (field.kind === 'boolean') {
      if (raw === true || field.required) parameters[field.name] = raw === true;
      continue;
    }
    const text = typeof raw === 'string' ? raw.trim() : '';
    if (text === '') {
      if (field.required) problems.push(`${field.name}: required`);
      continue;
    }
    switch (field.kind) {
      case 'number':
      case 'integer': {
        const value = Number(text);
        if (!Number.isFinite(value) || (field.kind === 'integer' && !Number.isInteger(value))) problems.push(`${field.name}: not ${field.kind === 'integer' ? 'an integer' : 'a number'}`);
        else parameters[field.name] = value;
        break;
      }
      case 'string-list':
        parameters[field.name] = text.split('\n').map((line) => line.trim()).filter(Boolean);
        break;
      case 'json':
        try {
          parameters[field.name] = JSON.parse(text) as unknown;
        } catch (error) {
          problems.push(`${field.name}: not valid JSON (${(error as Error).message})`);
        }
        break;
      case 'string':
      case 'enum':
        parameters[field.name] = typeof raw === 'string' && field.kind === 'string' ? raw : text;
        break;
    }
  }
  return { parameters, problems };
}

/** Parses a JSON object typed into a text field; empty text is undefined. */
export function parseJsonObject(label: string, text: string): { value?: Record<string, unknown>; problem?: string } {
  if (!text.trim()) return {};
  try {
    const value = JSON.parse(text) as unknown;
    if (!isObject(value)) return { problem: `${label}: must be a JSON object` };
    return { value };
  } catch (error) {
    return { problem: `${label}: not valid JSON (${(error as Error).message})` };
  }
}
