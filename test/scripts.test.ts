import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunnerView } from '../api/fleet-service.js';
import type { RunEvent } from '../core/contract/events.js';
import type { Script } from '../core/contract/config-files.js';
import { TestStack, eventually, uniqueTag } from './support/stack.js';
import { testTime } from './support/time.js';

/** Prints its argv as JSON, or plain text with --plain, or fails with --fail. */
const ARGV_SCRIPT = `#!/usr/bin/env node
const args = process.argv.slice(2);
if (args.includes('--fail')) { console.error('something broke: ' + args.join(' ')); process.exit(3); }
if (args.includes('--plain')) { console.log('plain output'); console.error('a warning'); process.exit(0); }
console.log(JSON.stringify({ args, tty: process.stdout.isTTY === true }));
`;

const PARAMETERS_SCHEMA = {
  type: 'object',
  properties: {
    name: { type: 'string' },
    count: { type: 'integer' },
    loud: { type: 'boolean' },
    quiet: { type: 'boolean' },
    items: { type: 'array', items: { type: 'string' } },
    plain: { type: 'boolean' },
    fail: { type: 'boolean' },
  },
  required: ['name'],
  additionalProperties: false,
};

let stack: TestStack;
let first: { runnerId: string; projectDir: string; dataDir: string };
let second: { runnerId: string; projectDir: string; dataDir: string };
let tag: string;

beforeAll(async () => {
  stack = await TestStack.create();
  tag = uniqueTag('proc');
  // One runner exists before the script is created (it gets a signal), one comes after (it reconciles).
  first = await stack.startRunner({ profile: 'procedural', tags: [tag] });
});
afterAll(async () => {
  await stack?.stop();
});

async function runnersByScript(name: string): Promise<Map<string, RunnerView['scripts'][string] | undefined>> {
  const { body } = await stack.api<{ runners: RunnerView[] }>('GET', '/runners');
  return new Map(body.runners.map((runner) => [runner.runner_id, runner.scripts[name]]));
}

/** Waits until both runners report this script at this version (or, with `undefined`, not at all). */
async function expectOnBothRunners(name: string, version: string | undefined): Promise<void> {
  await eventually(async () => {
    const installed = await runnersByScript(name);
    for (const runner of [first, second]) {
      const seen = installed.get(runner.runnerId)?.version;
      if (seen !== version) throw new Error(`runner ${runner.runnerId} has ${name} at ${seen ?? 'nothing'}, expected ${version ?? 'nothing'}`);
    }
  }, testTime(45_000));
}

let created: Script;

describe('scripts: storage, API and sync to runners', () => {
  it('creates a script through the API and installs it on two real runners with the right hash', async () => {
    const response = await stack.api<Script>('POST', '/scripts', {
      body: { name: 'argv', description: 'prints its arguments', script_file: 'argv.mjs', script_content: ARGV_SCRIPT, parameters_schema: PARAMETERS_SCHEMA, demands: { tags: [tag] } },
    });
    expect(response.status).toBe(201);
    created = response.body;
    expect(created.version).toMatch(/^[0-9a-f]{64}$/);
    second = await stack.startRunner({ profile: 'procedural', tags: [tag] });

    await expectOnBothRunners('argv', created.version);
    for (const runner of [first, second]) {
      // In the runner's own data dir, never in the user's repository.
      const file = path.join(runner.dataDir, 'scripts', 'argv', 'argv.mjs');
      expect(await fs.readFile(file, 'utf8')).toBe(ARGV_SCRIPT);
      await expect(fs.access(path.join(runner.projectDir, '.ao', 'scripts'))).rejects.toThrow();
      expect((await fs.stat(file)).mode & 0o111).toBe(0o111);
    }
    const listed = await stack.api<{ scripts: Array<{ name: string; version?: string }> }>('GET', '/scripts');
    expect(listed.body.scripts).toContainEqual(expect.objectContaining({ name: 'argv', version: created.version }));
  });

  it('serves the bundle as tar.gz with its version', async () => {
    const response = await fetch(`${stack.apiUrl}/scripts/argv/download`, { headers: { authorization: `Bearer ${stack.runnerToken}` } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/gzip');
    expect(response.headers.get('x-ao-script-version')).toBe(created.version);
    const bytes = Buffer.from(await response.arrayBuffer());
    expect(bytes.subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
  });

  it('sends an update to every runner as a new version', async () => {
    const changed = `${ARGV_SCRIPT}// v2\n`;
    const response = await stack.api<Script>('PATCH', '/scripts/argv', { body: { script_content: changed } });
    expect(response.status).toBe(200);
    expect(response.body.version).not.toBe(created.version);
    expect(response.body.description).toBe('prints its arguments');
    await expectOnBothRunners('argv', response.body.version);
    expect(await fs.readFile(path.join(second.dataDir, 'scripts', 'argv', 'argv.mjs'), 'utf8')).toBe(changed);
    created = response.body;
  });

  it('shows a failed install on the runner, with its error and attempts', async () => {
    // This runner cannot download: the API refuses its token.
    const locked = await stack.startRunner({ profile: 'procedural', env: { AO_API_TOKEN: 'not-the-token-of-this-api' } });
    const failure = await eventually(async () => {
      const { body } = await stack.api<{ runners: RunnerView[] }>('GET', '/runners');
      const found = body.runners.find((runner) => runner.runner_id === locked.runnerId)?.script_failures.argv;
      if (!found) throw new Error('no failure recorded yet');
      return found;
    }, testTime(45_000));
    expect(failure).toMatchObject({ version: created.version, attempts: 1 });
    expect(failure.error).toMatch(/answered 401/);
    expect(Date.parse(failure.next_attempt_at)).toBeGreaterThan(Date.parse(failure.at));
    await locked.process.stop();
  });

  it('retries a failed install until it succeeds', async () => {
    // A runner whose API is down when it registers: the download fails, then the API comes back on the same port.
    const apiUrl = await stack.startApi();
    const api = stack.processes.at(-1)!;
    await api.stop();
    const lonely = await stack.startRunner({ profile: 'procedural', extraArgs: ['--api-url', apiUrl] });
    const runnerState = async () => {
      const { body } = await stack.api<{ runners: RunnerView[] }>('GET', '/runners');
      return body.runners.find((runner) => runner.runner_id === lonely.runnerId)!;
    };
    const failed = await eventually(async () => {
      const failure = (await runnerState()).script_failures.argv;
      if (!failure) throw new Error('no failure recorded yet');
      return failure;
    }, testTime(45_000));
    expect(failed.error).toMatch(/fetch failed|ECONNREFUSED/);
    await stack.startApi({ AO_API_PORT: new URL(apiUrl).port });
    const healed = await eventually(async () => {
      const state = await runnerState();
      if (state.scripts.argv?.version !== created.version) throw new Error(`not installed yet (${JSON.stringify(state.script_failures.argv)})`);
      return state;
    }, testTime(90_000));
    expect(healed.script_failures.argv).toBeUndefined();
    await lonely.process.stop();
  }, testTime(120_000));

  it('lists a broken script with its error without hiding the others', async () => {
    await fs.mkdir(path.join(stack.configDir, 'scripts', 'broken'), { recursive: true });
    await fs.writeFile(path.join(stack.configDir, 'scripts', 'broken', 'script.json'), '{ not json');
    const { body } = await stack.api<{ scripts: Array<{ name: string; error?: string; version?: string }> }>('GET', '/scripts');
    expect(body.scripts.find((script) => script.name === 'broken')?.error).toMatch(/script\.json is invalid/);
    expect(body.scripts.find((script) => script.name === 'argv')?.version).toBe(created.version);
    expect((await stack.api('DELETE', '/scripts/broken')).status).toBe(204);
  });
});

describe('procedural agents', () => {
  it('runs a procedural agent end to end with its parameters as argv, on a terminal', async () => {
    const agent = await stack.api('POST', '/agents', { body: { name: 'argv-agent', type: 'procedural', script: 'argv' } });
    expect(agent.status).toBe(201);
    const id = await stack.postRun({ agent: 'argv-agent', parameters: { name: 'Ada Lovelace', count: 3, loud: true, quiet: false, items: ['a', 'b', 'c'] } });
    const run = await stack.waitForRun(id);
    expect(run.status).toBe('completed');
    expect(run.result).toMatchObject({ args: ['--name', 'Ada Lovelace', '--count', '3', '--loud', '--items', 'a,b,c'], tty: true });
    expect(run.script).toEqual({ name: 'argv', version: created.version, script_file: 'argv.mjs' });
    expect(run.demands?.executor_type).toBe('procedural');
    expect(run.demands?.tags).toContain(tag);
    // Events reach the API in batches from the runner's spool, a moment after the run ends.
    await eventually(async () => {
      const { body } = await stack.api<{ events: RunEvent[] }>('GET', `/runs/${id}/events`);
      const terminal = body.events.filter((event) => event.kind === 'terminal_chunk').map((event) => String(event.data.text)).join('');
      expect(terminal).toContain('Ada Lovelace');
    });
  });

  it('runs the shipped file-stats agent, whose script every runner got at registration', async () => {
    for (const runner of [first, second]) await fs.writeFile(path.join(runner.projectDir, 'notes.md'), 'one\ntwo\n');
    const run = await stack.waitForRun(await stack.postRun({ agent: 'file-stats', parameters: { extensions: ['md'] }, additional_demands: { tags: [tag] } }));
    expect(run.status).toBe('completed');
    expect(run.result).toMatchObject({ by_extension: { md: { files: 1, lines: 3 } } });
  });

  it('reports plain output as return code, stdout and stderr', async () => {
    const run = await stack.waitForRun(await stack.postRun({ agent: 'argv-agent', parameters: { name: 'x', plain: true } }));
    expect(run.status).toBe('completed');
    expect(run.result).toEqual({ return_code: 0, stdout: 'plain output\n', stderr: 'a warning\n' });
  });

  it('fails a run whose script exits non-zero, with the stderr tail as the cause', async () => {
    const run = await stack.waitForRun(await stack.postRun({ agent: 'argv-agent', parameters: { name: 'x', fail: true } }));
    expect(run.status).toBe('failed');
    expect(run.error?.type).toBe('EXECUTOR_FAILED');
    expect(run.error?.message).toMatch(/exited with code 3: something broke: --name x --fail/);
  });

  it('refuses parameters that do not match the script schema, with the errors and the schema', async () => {
    const response = await stack.api<{ error: string; details: { problems: string[]; schema: unknown } }>('POST', '/runs', {
      body: { agent: 'argv-agent', parameters: { count: 'many' } },
    });
    expect(response.status).toBe(400);
    expect(response.body.details.problems).toEqual(expect.arrayContaining([expect.stringMatching(/name/), expect.stringMatching(/count: must be integer/)]));
    expect(response.body.details.schema).toEqual(PARAMETERS_SCHEMA);
  });

  it('runs a runner-local command for an agent that has one', async () => {
    await fs.mkdir(path.join(first.projectDir, 'tools'), { recursive: true });
    await fs.writeFile(path.join(first.projectDir, 'tools', 'hello.sh'), '#!/bin/sh\necho "{\\"hello\\": \\"$2\\"}"\n', { mode: 0o755 });
    const agent = await stack.api('POST', '/agents', {
      body: { name: 'local-hello', type: 'procedural', command: ['./tools/hello.sh'], demands: { project_dir: first.projectDir, tags: [tag] } },
    });
    expect(agent.status).toBe(201);
    const refused = await stack.api<{ details: { problems: string[] } }>('POST', '/runs', { body: { agent: 'local-hello', parameters: { '--who': 'x' } } });
    expect(refused.status).toBe(400);
    expect(refused.body.details.problems.join()).toMatch(/parameter names become --flags/);
    const run = await stack.waitForRun(await stack.postRun({ agent: 'local-hello', parameters: { who: 'world' } }));
    expect(run.status).toBe('completed');
    expect(run.result).toEqual({ hello: 'world' });
  });

  it('refuses a run of an agent whose script was removed behind the API’s back, naming the script', async () => {
    await stack.api('POST', '/scripts', { body: { name: 'vanishing', script_file: 'v.sh', script_content: '#!/bin/sh\necho {}\n' } });
    expect((await stack.api('POST', '/agents', { body: { name: 'vanishing-agent', type: 'procedural', script: 'vanishing' } })).status).toBe(201);
    await fs.rm(path.join(stack.configDir, 'scripts', 'vanishing'), { recursive: true });
    const response = await stack.api<{ error: string }>('POST', '/runs', { body: { agent: 'vanishing-agent', parameters: {} } });
    expect(response.status).toBe(422);
    expect(response.body.error).toMatch(/agent vanishing-agent is invalid: script: script "vanishing" does not exist/);
    expect((await stack.api('DELETE', '/agents/vanishing-agent')).status).toBe(204);
  });

  it('does not run an inactive agent', async () => {
    expect((await stack.api('PATCH', '/agents/local-hello', { body: { status: 'inactive' } })).status).toBe(200);
    const response = await stack.api<{ error: string }>('POST', '/runs', { body: { agent: 'local-hello', parameters: {} } });
    expect(response.status).toBe(409);
    expect(response.body.error).toMatch(/inactive/);
  });
});

describe('agents API', () => {
  it('creates, reads, changes and deletes an agent, keeping its other fields', async () => {
    const created = await stack.api('POST', '/agents', { body: { name: 'helper', description: 'helps', system_prompt: 'Be brief.', tags: ['x'] } });
    expect(created.status).toBe(201);
    expect((await stack.api('POST', '/agents', { body: { name: 'helper' } })).status).toBe(409);
    const patched = await stack.api<{ description: string; system_prompt: string; tags: string[] }>('PATCH', '/agents/helper', { body: { description: 'helps more' } });
    expect(patched.body).toMatchObject({ description: 'helps more', system_prompt: 'Be brief.', tags: ['x'] });
    const cleared = await stack.api<{ system_prompt?: string }>('PATCH', '/agents/helper', { body: { system_prompt: null } });
    expect(cleared.body.system_prompt).toBeUndefined();
    const listed = await stack.api<{ agents: Array<{ name: string }> }>('GET', '/agents');
    expect(listed.body.agents.map((agent) => agent.name)).toContain('helper');
    expect((await stack.api('DELETE', '/agents/helper')).status).toBe(204);
    expect((await stack.api('GET', '/agents/helper')).status).toBe(404);
  });

  it('refuses agents that break the rules, naming the field', async () => {
    const noScript = await stack.api<{ details: { problems: string[] } }>('POST', '/agents', { body: { name: 'p1', type: 'procedural' } });
    expect(noScript.status).toBe(400);
    expect(noScript.body.details.problems.join()).toMatch(/script: a procedural agent needs a script/);
    const missing = await stack.api<{ error: string }>('POST', '/agents', { body: { name: 'p2', type: 'procedural', script: 'nope' } });
    expect(missing.status).toBe(422);
    expect(missing.body.error).toMatch(/script "nope" does not exist/);
    const badSchema = await stack.api<{ error: string }>('POST', '/agents', { body: { name: 'p3', parameters_schema: { type: 'wrong' } } });
    expect(badSchema.status).toBe(422);
    expect(badSchema.body.error).toMatch(/parameters_schema/);
  });
});

describe('deleting scripts', () => {
  it('refuses to delete a script an agent uses, then deletes it from config and from every runner', async () => {
    const refused = await stack.api<{ error: string; details: { agents: string[] } }>('DELETE', '/scripts/argv');
    expect(refused.status).toBe(409);
    expect(refused.body.details.agents).toEqual(['argv-agent']);
    expect((await stack.api('DELETE', '/agents/argv-agent')).status).toBe(204);
    expect((await stack.api('DELETE', '/scripts/argv')).status).toBe(204);
    expect((await stack.api('GET', '/scripts/argv')).status).toBe(404);
    await expectOnBothRunners('argv', undefined);
    for (const runner of [first, second]) {
      await expect(fs.access(path.join(runner.dataDir, 'scripts', 'argv'))).rejects.toThrow();
    }
  });
});

describe('names that try to escape', () => {
  it.each([
    ['a script name with a path', { name: '../evil', script_file: 'x.sh', script_content: 'x' }, /name/],
    ['a script name with dot-dot', { name: 'a..b', script_file: 'x.sh', script_content: 'x' }, /name/],
    ['a script file with a path', { name: 'ok', script_file: '../../x.sh', script_content: 'x' }, /script_file/],
    ['a script file named script.json', { name: 'ok', script_file: 'script.json', script_content: 'x' }, /reserved/],
    ['an invalid parameters schema', { name: 'ok', script_file: 'x.sh', script_content: 'x', parameters_schema: { type: 12 } }, /parameters_schema/],
  ])('refuses %s', async (_label, body, problem) => {
    const response = await stack.api<{ error: string; details?: { problems?: string[] } }>('POST', '/scripts', { body });
    expect([400, 422]).toContain(response.status);
    expect(`${response.body.error} ${response.body.details?.problems?.join(' ') ?? ''}`).toMatch(problem);
    await expect(fs.access(path.join(stack.configDir, 'scripts', 'ok'))).rejects.toThrow();
  });

  it('refuses names with separators in the URL', async () => {
    for (const route of ['/scripts/..%2F..%2Fetc', '/scripts/a%2Fb/download', '/scripts/..%5Cx', '/agents/..%2Fscripts']) {
      // Bundles are what runners download: asked with a runner's token.
      const response = await stack.api('GET', route, route.endsWith('/download') ? { token: stack.runnerToken } : {});
      expect([400, 404]).toContain(response.status);
    }
  });
});
