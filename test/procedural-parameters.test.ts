import { describe, expect, it } from 'vitest';
import { parametersToArgv } from '../activities/executors/procedural.js';
import { jsonSchemaProblems, schemaProblems } from '../core/contract/json-schema.js';
import { flagNameProblems } from '../core/contract/procedural-parameters.js';

describe('procedural parameters as argv', () => {
  it('turns each kind of value into flags, one argv element per value', () => {
    expect(
      parametersToArgv({ name: 'Ada Lovelace', count: 3, loud: true, quiet: false, gone: null, items: ['a', 'b'], options: { depth: 2 } }),
    ).toEqual(['--name', 'Ada Lovelace', '--count', '3', '--loud', '--items', 'a,b', '--options', '{"depth":2}']);
  });

  it('passes a value that starts with a dash as --key=value, so it cannot pose as an option', () => {
    expect(parametersToArgv({ path: '--output=/etc/passwd', offset: -1 })).toEqual(['--path=--output=/etc/passwd', '--offset=-1']);
  });

  it('refuses parameter names that are not plain flags', () => {
    expect(() => parametersToArgv({ '--evil': 'x' })).toThrow(/cannot be a command-line flag/);
    expect(flagNameProblems({ ok_name: 1, 'has space': 1, '-x': 1 })).toHaveLength(2);
  });
});

describe('JSON Schema checks', () => {
  it('checks a schema with an $id as often as asked', () => {
    const schema = { $id: 'https://example.invalid/params', type: 'object', properties: { n: { type: 'integer' } } };
    for (let round = 0; round < 3; round += 1) {
      expect(schemaProblems(schema)).toEqual([]);
      expect(jsonSchemaProblems(schema, { n: 'x' })).toEqual(['n: must be integer']);
    }
  });
});
