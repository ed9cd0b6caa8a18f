import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { spawn as spawnPty } from 'node-pty';
import { create } from 'tar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../core/config/paths.js';
import type { RunEvent } from '../core/contract/events.js';
import { Agent } from '../core/contract/config-files.js';
import { AgentList, ProfileList, RunList, RunView, RunnerList, ScriptList } from '../core/contract/http.js';
import { FlowList } from '../core/contract/flows.js';
import { CreatedToken, TokenList } from '../core/contract/identity.js';
import { EXIT } from '../cli/exit-codes.js';
import { runGate } from './support/gates.js';
import * as anthropic from './support/scripted-anthropic.js';
import { startSupervisedClaude, supervisedConfig } from './support/supervised-claude.js';
import { TestProcess } from './support/process.js';
import { TestStack, eventually, uniqueTag } from './support/stack.js';
import { testTime } from './support/time.js';

/** The real `ao` command, as `npx ao` runs it: the bin launcher, never a shell. */
const AO_BIN = path.join(repoRoot, 'bin', 'ao.js');

let stack: TestStack;
let home: string;
let echoRunner: string;

beforeAll(async () => {
  stack = await TestStack.create();
  home = await fs.mkdtemp(path.join(os.tmpdir(), 'ao-cli-home-'));
  ({ runnerId: echoRunner } = await stack.startRunner({ profile: 'echo' }));
  await stack.startRunner({ profile: 'procedural' });
});
afterAll(async () => {
  await stack?.stop();
  if (home) await fs.rm(home, { recursive: true, force: true });
});

interface AoResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

interface AoOptions {
  /** The token in AO_API_TOKEN; `null`: none. @defaultValue the stack's admin token */
  token?: string | null;
  apiUrl?: string;
  env?: NodeJS.ProcessEnv;
  /** Called with the running process, e.g. to act once it printed something. */
  whileRunning?: (process: TestProcess) => Promise<void>;
}

/**
 * Runs `ao <args>` with nothing from this process's environment but PATH: a home with no config
 * file, and a data dir with no token file, so only what the test gives reaches it.
 */
async function ao(args: string[], options: AoOptions = {}): Promise<AoResult> {
  const token = options.token === undefined ? stack.token : options.token;
  const child = spawn(process.execPath, [AO_BIN, ...args], {
    cwd: home,
    env: {
      PATH: process.env.PATH,
      HOME: home,
      XDG_CONFIG_HOME: path.join(home, 'config'),
      AO_DATA_DIR: path.join(home, 'data'),
      AO_API_URL: options.apiUrl ?? stack.apiUrl,
      ...(token ? { AO_API_TOKEN: token } : {}),
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const process_ = new TestProcess('ao', child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const limit = setTimeout(() => child.kill('SIGKILL'), testTime(90_000));
  try {
    await options.whileRunning?.(process_);
    const { code } = await process_.exited;
    return { code, stdout, stderr };
  } finally {
    clearTimeout(limit);
    child.kill('SIGKILL');
  }
}

/** `ao --json …`, expecting success, parsed. */
async function aoJson(args: string[], options: AoOptions = {}): Promise<unknown> {
  const result = await ao(['--json', ...args], options);
  if (result.code !== 0) throw new Error(`ao ${args.join(' ')} exited ${result.code}:\n${result.stdout}\n${result.stderr}`);
  return JSON.parse(result.stdout);
}

/** Waits until the run's `session_ended` event is stored: its runner has sent everything. */
async function waitForEvents(runId: string): Promise<RunEvent[]> {
  return eventually(async () => {
    const { body } = await stack.api<{ events: RunEvent[] }>('GET', `/runs/${runId}/events`);
    if (!body.events.some((event) => event.kind === 'session_ended')) throw new Error(`run ${runId} has no session_ended event yet`);
    return body.events;
  });
}

const runIdIn = (output: string): string => {
  const match = /echo executor: run (\S+) for agent/.exec(output);
  if (!match) throw new Error(`no run id in:\n${output}`);
  return match[1]!;
};

describe('the ao command', () => {
  it('runs from the checkout with npx, without a build step', async () => {
    const cache = path.join(home, 'npm-cache');
    const child = spawn('npx', ['--offline', 'ao', '--help'], {
      cwd: repoRoot,
      // A cache of its own, offline: npx links this checkout's own bin, and fetches nothing.
      env: { PATH: process.env.PATH, HOME: home, npm_config_cache: cache, npm_config_update_notifier: 'false' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const npx = new TestProcess('npx ao', child);
    const { code } = await npx.exited;
    expect(code, npx.output).toBe(EXIT.ok);
    expect(npx.output).toContain('Usage: ao [options] [command]');
    await fs.rm(cache, { recursive: true, force: true });
  });
});

/** Runs `ao <args>` on a pseudo-terminal, as a person would; its output with the terminal's escape codes. */
async function aoOnTerminal(args: string[], env: Record<string, string> = {}): Promise<{ code: number; output: string }> {
  const terminal = spawnPty(process.execPath, [AO_BIN, ...args], {
    cwd: home,
    cols: 200,
    env: { PATH: process.env.PATH ?? '', HOME: home, XDG_CONFIG_HOME: path.join(home, 'config'), AO_DATA_DIR: path.join(home, 'data'), AO_API_URL: stack.apiUrl, AO_API_TOKEN: stack.token, TERM: 'xterm', ...env },
  });
  let output = '';
  terminal.onData((data) => (output += data));
  const limit = setTimeout(() => terminal.kill('SIGKILL'), testTime(60_000));
  const code = await new Promise<number>((resolve) => terminal.onExit(({ exitCode }) => resolve(exitCode)));
  clearTimeout(limit);
  return { code, output };
}

describe('ao on a terminal', () => {
  it('colours its tables only on a terminal, and not with NO_COLOR', async () => {
    const bold = '\u001b[1m';
    const coloured = await aoOnTerminal(['agents']);
    expect(coloured.code, coloured.output).toBe(EXIT.ok);
    expect(coloured.output).toContain(`${bold}NAME`);
    const plain = await aoOnTerminal(['agents'], { NO_COLOR: '1' });
    expect(plain.output).toMatch(/^NAME\s+TYPE/m);
    expect(plain.output).not.toContain('\u001b[');
    const piped = await ao(['agents']);
    expect(piped.stdout).not.toContain('\u001b[');
  });
});

describe('ao run --follow', () => {
  it('streams the run’s output while it runs and exits 0 once it completed', async () => {
    const gate = await runGate(stack.root);
    const result = await ao(['run', 'echo', '--follow', '--prompt', 'hello', '-p', 'message=hi', '-p', `wait_for_file=${gate.file}`], {
      whileRunning: async (running) => {
        // The run is held at its gate: this line arrived live, before the run could end.
        await running.waitFor(/echo executor: run \S+ for agent echo/);
        await gate.open();
      },
    });
    expect(result.code, result.stderr).toBe(EXIT.ok);
    const run = RunView.parse((await stack.api('GET', `/runs/${runIdIn(result.stdout)}`)).body);
    expect(run.status).toBe('completed');
    expect(run.parameters).toMatchObject({ message: 'hi' });
    expect(result.stderr).toContain(`run ${run.id} completed`);
  });

  it('exits non-zero (3) when the run fails, naming the failure', async () => {
    const result = await ao(['run', 'echo', '-f', '-p', 'exit_code=7']);
    expect(result.code, result.stderr).toBe(EXIT.runFailed);
    expect(result.stderr).toMatch(/run \S+ failed: EXECUTOR_FAILED/);
  });

  it('parses -p values as JSON when they are JSON, else keeps the string', async () => {
    const created = (await aoJson(['run', 'echo', '-p', 'sleep_ms=0', '-p', 'message={not json', '-p', 'spawn_grandchild=false'])) as { id: string };
    const run = await stack.waitForRun(created.id);
    expect(run.parameters).toEqual({ sleep_ms: 0, message: '{not json', spawn_grandchild: false });
  });
});

describe('ao runs, show and logs', () => {
  let runId: string;
  beforeAll(async () => {
    const { id } = (await aoJson(['run', 'echo', '--prompt', 'for the listing', '-p', 'message=listed'])) as { id: string };
    runId = id;
    await stack.waitForRun(runId);
  });

  it('lists the run with --json in the API’s shape, and as a table without it', async () => {
    const list = RunList.parse(
      await eventually(async () => {
        const answer = RunList.parse(await aoJson(['runs', '--agent', 'echo', '--status', 'completed']));
        if (!answer.runs.some((run) => run.id === runId)) throw new Error('not listed yet');
        return answer;
      }),
    );
    expect(list.runs.every((run) => run.agent === 'echo' && run.status === 'completed')).toBe(true);
    const table = await ao(['runs', '--agent', 'echo']);
    expect(table.code).toBe(EXIT.ok);
    expect(table.stdout.split('\n')[0]).toMatch(/^ID\s+AGENT\s+STATUS/);
    expect(table.stdout).toMatch(new RegExp(`^${runId}\\s+echo\\s+completed`, 'm'));
  });

  it('shows the run as the API answers it', async () => {
    const run = RunView.parse(await aoJson(['show', runId]));
    expect(run).toMatchObject({ id: runId, status: 'completed', agent: 'echo', parameters: { message: 'listed' } });
    const text = await ao(['show', runId]);
    expect(text.stdout).toMatch(/status:\s+completed/);
    expect(text.stdout).toContain('history:');
  });

  it('replays the run’s output lines, with and without -f', async () => {
    const events = await waitForEvents(runId);
    const logs = await ao(['logs', runId]);
    expect(logs.code).toBe(EXIT.ok);
    expect(logs.stdout).toContain(`echo executor: run ${runId} for agent echo`);
    expect(logs.stderr).toContain('[session_ended]');
    const followed = await ao(['logs', '-f', runId]);
    expect(followed.code).toBe(EXIT.ok);
    expect(followed.stdout).toContain(`echo executor: run ${runId} for agent echo`);
    // --json: every event once, in order, as the API stores it.
    const json = await ao(['--json', 'logs', '-f', runId]);
    const lines = json.stdout.trim().split('\n').map((line) => JSON.parse(line) as RunEvent);
    expect(lines.map((event) => event.id)).toEqual(events.map((event) => event.id));
  });

  it('answers an unknown run with the API’s 404 message and exit code 1', async () => {
    const result = await ao(['show', 'no-such-run']);
    expect(result.code).toBe(EXIT.failed);
    expect(result.stderr).toMatch(/error: run "no-such-run" does not exist \(HTTP 404\)/);
    const json = await ao(['--json', 'show', 'no-such-run']);
    expect(JSON.parse(json.stderr)).toMatchObject({ error: 'run "no-such-run" does not exist', status: 404 });
    expect(json.stdout).toBe('');
  });
});

describe('ao runners, profiles and agents', () => {
  it('lists the fleet and the config as tables, and as the API’s JSON', async () => {
    const runners = await ao(['runners']);
    expect(runners.stdout).toMatch(new RegExp(`^${echoRunner.replaceAll('.', '\\.')}\\s+online\\s+\\d+/\\d+\\s+echo`, 'm'));
    expect(RunnerList.parse(await aoJson(['runners', '--status', 'online'])).runners.map((runner) => runner.runner_id)).toContain(echoRunner);
    expect((await ao(['profiles'])).stdout).toMatch(/^procedural\s+procedural\s+/m);
    expect((await ao(['agents'])).stdout).toMatch(/^echo\s+autonomous\s+active/m);
    expect(Agent.parse(await aoJson(['agents', 'show', 'echo']))).toMatchObject({ name: 'echo', type: 'autonomous' });
  });
});

describe('ao stop', () => {
  it('stops a running run, and logs -f then exits with the stopped code', async () => {
    const gate = await runGate(stack.root);
    const id = (await ao(['run', 'echo', '-p', `wait_for_file=${gate.file}`])).stdout.trim();
    await stack.waitForRun(id, (run) => run.status === 'running');
    const stopped = await ao(['stop', id, '--reason', 'from the cli test']);
    expect(stopped.code, stopped.stderr).toBe(EXIT.ok);
    expect(stopped.stdout.trim()).toBe(`run ${id} stopping`);
    const followed = await ao(['logs', '-f', id]);
    expect(followed.code).toBe(EXIT.runStopped);
    const run = await stack.waitForRun(id);
    expect(run.status).toBe('stopped');
    expect(run.history.find((change) => change.status === 'stopping')?.reason).toContain('from the cli test');
    const again = await ao(['stop', id]);
    expect(again.code).toBe(EXIT.failed);
    expect(again.stderr).toContain('(HTTP 409)');
  });
});

describe('ao approve and ao deny', () => {
  it('allow a supervised run’s pending tool use, and refuse a decision on one that is no longer pending', async () => {
    const turns: anthropic.Turn[] = [];
    const { endpoint, runners } = await startSupervisedClaude(stack, turns, { cli: supervisedConfig() });
    try {
      turns.push(anthropic.callTool('Bash', { command: 'touch from-cli.txt', description: 'Create from-cli.txt' }), anthropic.reply('Done.'));
      const id = await stack.postRun({ agent: 'coder', prompt: 'create from-cli.txt', additional_demands: { tags: [runners.cli.tag] } });
      const waiting = await stack.waitForRun(id, (run) => run.status === 'waiting_for_approval' && (run.approvals ?? []).some((approval) => approval.status === 'pending'));
      const approval = waiting.approvals!.find((candidate) => candidate.status === 'pending')!;

      const approved = await ao(['approve', id, approval.id, '--note', 'go ahead', '--json']);
      expect(approved.code, approved.stderr).toBe(EXIT.ok);
      expect(JSON.parse(approved.stdout)).toMatchObject({ id: approval.id, status: 'allowed', decided_by: 'admin', note: 'go ahead' });
      expect((await stack.waitForRun(id)).status).toBe('completed');
      await expect(fs.stat(path.join(runners.cli.projectDir, 'from-cli.txt'))).resolves.toBeDefined();

      const late = await ao(['deny', id, approval.id]);
      expect(late.code).toBe(EXIT.failed);
      expect(late.stderr).toMatch(/not pending|already ended/);
      expect(late.stderr).toContain('HTTP 409');
    } finally {
      await endpoint.close();
    }
  });
});

describe('ao pause, resume, input, interrupt and stop --now', () => {
  it('drive a running procedural run, each answered with its status, and a refusal exits with the reason', async () => {
    await stack.addScriptAgent({ name: 'cli-reader', script_file: 'cli-reader.sh', script_content: '#!/bin/sh\nread -r _ || true\nread -r line\necho "{\\"got\\": \\"$line\\"}"\n' });
    const id = await stack.postRun({ agent: 'cli-reader', parameters: {} });
    await stack.waitForRun(id, (run) => run.status === 'running');
    const paused = await ao(['pause', id, '--json']);
    expect(paused.code, paused.stderr).toBe(EXIT.ok);
    expect(JSON.parse(paused.stdout)).toEqual({ id, status: 'paused' });
    const resumed = await ao(['resume', id]);
    expect(resumed.stdout).toContain(`run ${id} running`);
    const interrupted = await ao(['interrupt', id]);
    expect(interrupted.code).toBe(EXIT.failed);
    expect(interrupted.stderr).toContain('HTTP 409');
    const input = await ao(['input', id, 'from the cli']);
    expect(input.code, input.stderr).toBe(EXIT.ok);
    expect(input.stdout).toContain('input delivered');
    const run = await stack.waitForRun(id);
    expect((run.result as { stdout: string }).stdout).toContain('{"got": "from the cli"}');

    const sleeper = await stack.postRun({ agent: 'cli-reader', parameters: {} });
    await stack.waitForRun(sleeper, (current) => current.status === 'running');
    const stopped = await ao(['stop', sleeper, '--now', '--wait', '--json']);
    expect(stopped.code, stopped.stderr).toBe(EXIT.ok);
    const view = JSON.parse(stopped.stdout) as RunView;
    expect(view.status).toBe('stopped');
    expect(view.history.find((change) => change.status === 'stopping')?.reason).toContain('now: no grace period');
  });
});

describe('ao scripts push', () => {
  it('creates a script from a folder, runs it, and updates it only when it changed', async () => {
    const name = uniqueTag('greet');
    const dir = path.join(home, name);
    await fs.mkdir(dir);
    await fs.writeFile(
      path.join(dir, 'script.json'),
      JSON.stringify({ description: 'greets', script_file: 'greet.mjs', parameters_schema: { type: 'object', properties: { who: { type: 'string' } }, required: ['who'] } }),
    );
    await fs.writeFile(path.join(dir, 'greet.mjs'), "#!/usr/bin/env node\nconsole.log('hello from the pushed script', process.argv.slice(2).join(' '));\n");
    const pushed = await ao(['scripts', 'push', dir, '--agent']);
    expect(pushed.code, pushed.stderr).toBe(EXIT.ok);
    expect(pushed.stdout).toContain(`script ${name} created`);
    expect(pushed.stdout).toContain(`agent ${name} created`);

    const list = ScriptList.parse(await aoJson(['scripts']));
    expect(list.scripts.find((script) => script.name === name)).toMatchObject({ script_file: 'greet.mjs', description: 'greets' });
    const run = await ao(['run', name, '-p', 'who=world', '--follow']);
    expect(run.code, run.stderr).toBe(EXIT.ok);
    expect(run.stdout).toContain('hello from the pushed script --who world');

    expect((await ao(['scripts', 'push', dir])).stdout).toContain(`script ${name} unchanged`);
    await fs.writeFile(path.join(dir, 'greet.mjs'), "#!/usr/bin/env node\nconsole.log('hello again');\n");
    const updated = (await aoJson(['scripts', 'push', dir])) as { action: string; script: { version: string } };
    expect(updated.action).toBe('updated');
    const stored = await stack.api<{ script_content: string; version: string }>('GET', `/scripts/${name}`);
    expect(stored.body).toMatchObject({ script_content: "#!/usr/bin/env node\nconsole.log('hello again');\n", version: updated.script.version });
  });

  it('refuses a folder whose script.json is invalid, sending nothing', async () => {
    const dir = path.join(home, uniqueTag('bad'));
    await fs.mkdir(dir);
    await fs.writeFile(path.join(dir, 'script.json'), JSON.stringify({ script_file: '../outside.mjs' }));
    const result = await ao(['scripts', 'push', dir]);
    expect(result.code).toBe(EXIT.failed);
    expect(result.stderr).toContain('script.json is invalid');
    expect(result.stderr).toContain('script_file');
    const list = ScriptList.parse((await stack.api('GET', '/scripts')).body);
    expect(list.scripts.map((script) => script.name)).not.toContain(path.basename(dir));
  });
});

describe('ao tokens and credentials', () => {
  it('creates, lists and revokes a token; a viewer token gets the API’s 403', async () => {
    const name = uniqueTag('viewer');
    const created = CreatedToken.parse(await aoJson(['tokens', 'create', name, '--role', 'viewer']));
    expect(created).toMatchObject({ name, role: 'viewer' });
    const listed = TokenList.parse(await aoJson(['tokens']));
    expect(listed.tokens.find((token) => token.name === name)).toMatchObject({ role: 'viewer' });
    expect(JSON.stringify(listed)).not.toContain(created.token);

    expect((await ao(['whoami'], { token: created.token })).stdout).toMatch(/role:\s+viewer/);
    const refused = await ao(['run', 'echo'], { token: created.token });
    expect(refused.code).toBe(EXIT.failed);
    expect(refused.stderr).toContain(`error: token "${name}" has role viewer; this needs operator (HTTP 403)`);

    const revoked = await ao(['tokens', 'revoke', name]);
    expect(revoked.code, revoked.stderr).toBe(EXIT.ok);
    const after = await ao(['runs'], { token: created.token });
    expect(after.code).toBe(EXIT.failed);
    expect(after.stderr).toContain('(HTTP 401)');
    expect(after.stderr).not.toContain(created.token);
  });

  it('says where a token may come from when there is none, and exits 1 without calling the API', async () => {
    const result = await ao(['runs'], { token: null });
    expect(result.code).toBe(EXIT.failed);
    expect(result.stderr).toContain('error: no API token');
    expect(result.stderr).toContain('AO_API_TOKEN');
  });

  it('reads the token from the config file, and refuses a config file others can read', async () => {
    const file = path.join(home, 'ao-config.json');
    await fs.writeFile(file, JSON.stringify({ api_url: stack.apiUrl, token: stack.token }), { mode: 0o600 });
    await fs.chmod(file, 0o600);
    const fromFile = await ao(['whoami'], { token: null, env: { AO_CONFIG: file, AO_API_URL: '' } });
    expect(fromFile.code, fromFile.stderr).toBe(EXIT.ok);
    expect(fromFile.stdout).toMatch(/role:\s+admin/);
    await fs.chmod(file, 0o644);
    const refused = await ao(['whoami'], { token: null, env: { AO_CONFIG: file } });
    expect(refused.code).toBe(EXIT.failed);
    expect(refused.stderr).toContain('is readable by others');
  });

  it('answers bad flags with commander’s usage error and exit code 2', async () => {
    const unknown = await ao(['runs', '--no-such-flag']);
    expect(unknown.code).toBe(EXIT.usage);
    expect(unknown.stderr).toContain("unknown option '--no-such-flag'");
    const badParameter = await ao(['run', 'echo', '-p', 'novalue']);
    expect(badParameter.code).toBe(EXIT.usage);
    expect(badParameter.stderr).toContain('give key=value');
  });
});

describe('ao config export and import', () => {
  let archive: string;
  let target: string;
  let targetProfiles: string;

  beforeAll(async () => {
    // A second API on the same stack with an empty config and profiles dir: a fresh place to import into.
    const root = await fs.mkdtemp(path.join(stack.root, 'import-target-'));
    targetProfiles = path.join(root, 'profiles');
    await fs.mkdir(path.join(root, 'config'));
    await fs.mkdir(targetProfiles);
    target = await stack.startApi({ AO_CONFIG_DIR: path.join(root, 'config'), AO_PROFILES_DIR: targetProfiles });
    // An agent whose runs open pull requests: the archive carries its forge command.
    const withPullRequest = await stack.api('POST', '/agents', { body: { name: 'pr-opener', demands: { executor_type: 'echo', tags: [] }, pull_request: { remote: 'upstream', command: ['gh', 'pr', 'create', '--head', '{branch}'] } } });
    expect(withPullRequest.status, JSON.stringify(withPullRequest.body)).toBe(201);
    archive = path.join(home, 'export.tar.gz');
    const exported = await ao(['config', 'export', '-o', archive]);
    expect(exported.code, exported.stderr).toBe(EXIT.ok);
  });

  async function configOf(apiUrl: string) {
    const get = async (route: string) => (await stack.api('GET', route, { baseUrl: apiUrl })).body;
    return {
      agents: AgentList.parse(await get('/agents')).agents,
      scripts: ScriptList.parse(await get('/scripts')).scripts,
      profiles: ProfileList.parse(await get('/profiles')).profiles.map((entry) => ({ ...entry, file: undefined })),
      flows: FlowList.parse(await get('/flows')).flows,
    };
  }

  it('imports into an empty config the same agents, scripts and profiles, and again changes nothing', async () => {
    const source = await configOf(stack.apiUrl);
    expect(source.agents.length).toBeGreaterThan(0);
    expect(source.scripts.length).toBeGreaterThan(0);
    expect(source.flows.map((flow) => flow.name)).toContain('build-review');
    expect(source.agents.find((agent) => agent.name === 'pr-opener')).toMatchObject({ pull_request: { remote: 'upstream', command: ['gh', 'pr', 'create', '--head', '{branch}'] } });
    const imported = await ao(['config', 'import', archive, '--api-url', target, '--profiles-dir', targetProfiles]);
    expect(imported.code, imported.stderr).toBe(EXIT.ok);
    expect(await configOf(target)).toEqual(source);

    const again = (await aoJson(['config', 'import', archive, '--api-url', target, '--profiles-dir', targetProfiles])) as { changes: Array<{ action: string }> };
    expect(again.changes.length).toBeGreaterThan(0);
    expect(again.changes.every((change) => change.action === 'unchanged')).toBe(true);
  });

  it('refuses entries that differ unless --overwrite, listing them', async () => {
    // Imported first (a no-op when the test before did it), so this test stands on its own.
    expect((await ao(['config', 'import', archive, '--api-url', target, '--profiles-dir', targetProfiles])).code).toBe(EXIT.ok);
    // The target's echo also opens pull requests now: an overwrite clears what the archive's echo lacks.
    const patched = await stack.api('PATCH', '/agents/echo', { baseUrl: target, body: { description: 'changed on the target', pull_request: { command: ['gh', 'pr', 'create'] } } });
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    const refused = await ao(['config', 'import', archive, '--api-url', target, '--profiles-dir', targetProfiles]);
    expect(refused.code).toBe(EXIT.failed);
    expect(refused.stderr).toContain('agent echo exists and differs');
    expect(AgentList.parse((await stack.api('GET', '/agents', { baseUrl: target })).body).agents.find((agent) => agent.name === 'echo')).toMatchObject({ description: 'changed on the target' });
    const dryRun = (await aoJson(['config', 'import', archive, '--api-url', target, '--profiles-dir', targetProfiles, '--overwrite', '--dry-run'])) as {
      changes: Array<{ kind: string; name: string; action: string }>;
    };
    expect(dryRun.changes.filter((change) => change.action !== 'unchanged')).toEqual([{ kind: 'agent', name: 'echo', action: 'update' }]);
    expect(AgentList.parse((await stack.api('GET', '/agents', { baseUrl: target })).body).agents.find((agent) => agent.name === 'echo')).toMatchObject({ description: 'changed on the target' });
    const overwritten = await ao(['config', 'import', archive, '--api-url', target, '--profiles-dir', targetProfiles, '--overwrite']);
    expect(overwritten.code, overwritten.stderr).toBe(EXIT.ok);
    expect(await configOf(target)).toEqual(await configOf(stack.apiUrl));
  });

  describe('a hostile or broken archive', () => {
    let staging: string;
    beforeAll(async () => {
      staging = await fs.mkdtemp(path.join(home, 'hostile-'));
    });

    /**
     * The exported archive unpacked, changed, and packed again with `extra` entries (paths as the
     * archive will hold them) besides a new, valid agent, so that an import that wrote anything would show it.
     */
    async function hostileArchive(label: string, change: (dir: string) => Promise<string[]>): Promise<string> {
      const dir = path.join(staging, label, 'content');
      await fs.mkdir(dir, { recursive: true });
      const { extract } = await import('tar');
      await extract({ file: archive, cwd: dir });
      const manifestFile = path.join(dir, 'manifest.json');
      const manifest = JSON.parse(await fs.readFile(manifestFile, 'utf8')) as { agents: string[] };
      manifest.agents.push('newcomer');
      await fs.writeFile(manifestFile, JSON.stringify(manifest));
      await fs.writeFile(path.join(dir, 'agents', 'newcomer.json'), JSON.stringify({ name: 'newcomer', description: 'would be imported' }));
      const extra = await change(dir);
      const file = path.join(staging, `${label}.tar.gz`);
      const entries = (await fs.readdir(dir)).filter((entry) => !extra.includes(entry));
      await create({ gzip: true, file, cwd: dir, preservePaths: true }, [...entries, ...extra]);
      return file;
    }

    const cases: Array<[string, (dir: string) => Promise<string[]>, RegExp]> = [
      [
        'a ../ entry',
        async (dir) => {
          await fs.writeFile(path.join(dir, '..', 'escape.json'), '{}');
          return ['../escape.json'];
        },
        /entry "\.\.\/escape\.json" has a path with "\.\."/,
      ],
      [
        'an absolute path',
        async (dir) => {
          const outside = path.join(dir, '..', 'absolute.json');
          await fs.writeFile(outside, '{}');
          return [path.resolve(outside)];
        },
        /entry "\/.*absolute\.json" has an absolute path/,
      ],
      [
        'a symlink',
        async (dir) => {
          await fs.symlink('/etc/passwd', path.join(dir, 'agents', 'link.json'));
          return [];
        },
        /entry "agents\/link\.json" is a SymbolicLink, not a plain file/,
      ],
      [
        'an unknown file',
        async (dir) => {
          await fs.writeFile(path.join(dir, 'notes.txt'), 'not config');
          return [];
        },
        /entry "notes\.txt" is not part of an ao config archive/,
      ],
      [
        'an invalid agent',
        async (dir) => {
          await fs.writeFile(path.join(dir, 'agents', 'echo.json'), JSON.stringify({ name: 'echo', type: 'procedural', tags: ['not a tag!'] }));
          return [];
        },
        /agents\/echo\.json: .*(tags|script)/,
      ],
      [
        'a flow whose forge command is a shell string',
        async (dir) => {
          await fs.writeFile(path.join(dir, 'flows', 'build-review.json'), JSON.stringify({ name: 'build-review', builder: { agent: 'coder' }, reviewer: { agent: 'codex-reviewer' }, pull_request: { command: 'gh pr create; curl evil' } }));
          return [];
        },
        /flows\/build-review\.json: pull_request\.command/,
      ],
    ];

    it.each(cases)('refuses %s and writes nothing', async (label, change, problem) => {
      const before = await configOf(target);
      const file = await hostileArchive(label.replace(/\W+/g, '-'), change);
      const result = await ao(['config', 'import', file, '--api-url', target, '--profiles-dir', targetProfiles, '--overwrite']);
      expect(result.code).toBe(EXIT.failed);
      expect(result.stderr).toContain('is refused, nothing was imported');
      expect(result.stderr).toMatch(problem);
      const after = await configOf(target);
      expect(after.agents.map((agent) => agent.name)).not.toContain('newcomer');
      expect(after).toEqual(before);
      expect((await fs.readdir(targetProfiles)).sort()).toEqual(before.profiles.map((profile) => `${profile.name}.json`).sort());
    });
  });
});
