import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { OPENAPI_PATH, type OpenApiDocument } from '../api/openapi.js';
import { repoRoot } from '../core/config/paths.js';
import { SCHEMATHESIS_VERSION, installedSchemathesisVersion, schemathesisCli } from '../scripts/schemathesis.js';
import { TestStack } from './support/stack.js';

// Schemathesis generates requests from /openapi.json for every operation and checks each answer.
// The stack has no runner: runs it starts stay pending and end (NO_RUNNER) within a second, so
// `?wait=true` answers and nothing keeps running; they go with the test namespace. Events go to
// PostgreSQL, the stricter of the two stores.
let stack: TestStack;

beforeAll(async () => {
  stack = await TestStack.create({ apiEnv: { AO_NO_RUNNER_TIMEOUT_SECONDS: '1', DATABASE_URL: inject('databaseUrl') } });
});
afterAll(async () => {
  await stack?.stop();
});

/** Generated cases per operation and phase; with the coverage phase's own, well over 1,000 in all. */
const MAX_EXAMPLES = 50;
const MIN_CASES = 1000;
/** The whole run is bounded: killed, and the test failed, past this. */
const FUZZ_LIMIT_MS = 8 * 60_000;
/** The NDJSON report of every case, kept for a look when the test fails (test-output/ is not committed). */
const REPORT_DIR = path.join(repoRoot, 'test-output', 'schemathesis');

function runSchemathesis(args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    // Run from the report dir: Schemathesis keeps a cache of failures in `.schemathesis/` where it runs.
    const child = spawn(schemathesisCli(), args, { cwd: REPORT_DIR, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), FUZZ_LIMIT_MS);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

describe('the API under generated requests', () => {
  it('answers no request with a 5xx, and every answer matches the document', { timeout: FUZZ_LIMIT_MS + 60_000 }, async () => {
    expect(await installedSchemathesisVersion(), 'run: npm run schemathesis:install').toBe(SCHEMATHESIS_VERSION);
    const document = (await (await fetch(`${stack.apiUrl}${OPENAPI_PATH}`)).json()) as OpenApiDocument;
    // Every operation but the document itself, which Schemathesis leaves out of what it tests.
    const operations = Object.entries(document.paths ?? {}).flatMap(([route, item]) => (route === OPENAPI_PATH ? [] : Object.keys(item as object))).length;
    await fs.rm(REPORT_DIR, { recursive: true, force: true });
    await fs.mkdir(REPORT_DIR, { recursive: true });
    const { code, output } = await runSchemathesis([
      'run', `${stack.apiUrl}${OPENAPI_PATH}`,
      '--header', `Authorization: Bearer ${stack.token}`,
      '--checks', 'not_a_server_error,response_schema_conformance',
      '--phases', 'examples,coverage,fuzzing',
      '--max-examples', String(MAX_EXAMPLES),
      '--request-timeout', '30',
      '--generation-database', 'none',
      '--report', 'ndjson', '--report-dir', REPORT_DIR,
      '--no-color',
    ]);
    expect(code, output).toBe(0);
    expect(output).toMatch(new RegExp(`Tested: ${operations}\\b`));
    const [, generated, passed] = /(\d+) generated, (\d+) passed/.exec(output) ?? [];
    expect(Number(generated), output).toBeGreaterThanOrEqual(MIN_CASES);
    expect(passed).toBe(generated);
    console.log(`schemathesis: ${generated} cases across ${operations} operations, none failed`);
  });
});
