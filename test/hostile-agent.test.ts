import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { DEFAULT_EXECUTOR_USER, lookUpUser } from '../activities/containment/executor-user.js';
import { repoRoot } from '../core/config/paths.js';
import * as anthropic from './support/scripted-anthropic.js';
import { HOSTILE_SCRIPT, expectContained, parseHostileReport, type HostileTargets } from './support/hostile-agent.js';
import { TestStack, uniqueTag } from './support/stack.js';

/**
 * An agent is untrusted code. From inside a run, a procedural script and a Claude Code run (its
 * Bash tool, against the scripted endpoint) try what a hostile agent would: credentials in the
 * environment and in the files the runner and the API keep, other processes' environments and
 * signals, leaving the run's cgroup, every kind of ao route, forged events for its own run and
 * another's, and the Temporal frontend. Each is refused, except the last on the dev server, which
 * has no authentication at all: only an mTLS frontend closes that (test/temporal-server.test.ts
 * makes the same attempt there, and it is refused).
 */

let stack: TestStack;
let targets: HostileTargets;
let procedural: { tag: string; dataDir: string };
let claude: { tag: string; projectDir: string; dataDir: string; endpoint: anthropic.ScriptedAnthropic };
/** The scripted endpoint's turns: each test adds its own. */
const turns: anthropic.Turn[] = [];

/** Every file in `dir`, at any depth. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await fs.readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => path.join(entry.parentPath, entry.name));
}

beforeAll(async () => {
  stack = await TestStack.create();
  await stack.addScriptAgent({
    name: 'hostile',
    script_file: 'hostile.mjs',
    script_content: HOSTILE_SCRIPT,
    parameters_schema: { type: 'object', properties: { targets: { type: 'object' } }, required: ['targets'] },
  });
  const proceduralTag = uniqueTag('hostile');
  const proceduralRunner = await stack.startRunner({ profile: 'procedural', tags: [proceduralTag] });
  procedural = { tag: proceduralTag, dataDir: proceduralRunner.dataDir };

  const endpoint = await anthropic.startScriptedAnthropic(turns);
  const profiles = await fs.mkdtemp(path.join(stack.root, 'profiles-'));
  const config = { permission_mode: 'acceptEdits', model: 'claude-sonnet-4-5', allowed_tools: ['Bash'], env_passthrough: ['ANTHROPIC_BASE_URL', 'ANTHROPIC_API_KEY', 'CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC'] };
  await fs.writeFile(path.join(profiles, 'hostile-claude.json'), JSON.stringify({ type: 'claude-code', command: [path.join(repoRoot, 'node_modules', '.bin', 'claude')], config }));
  const claudeTag = uniqueTag('hostile-claude');
  const claudeRunner = await stack.startRunner({
    profile: 'hostile-claude',
    tags: [claudeTag],
    extraArgs: ['--profiles-dir', profiles],
    env: { ANTHROPIC_BASE_URL: endpoint.url, ANTHROPIC_API_KEY: 'test-key', CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1' },
  });
  claude = { tag: claudeTag, projectDir: claudeRunner.projectDir, dataDir: claudeRunner.dataDir, endpoint };
  // The Claude run finds the script in its workspace, as an agent would write one.
  await fs.writeFile(path.join(claude.projectDir, 'hostile.mjs'), HOSTILE_SCRIPT, { mode: 0o644 });

  const other = await stack.assignedRun();
  // Every runner's data dir (the one that ran `other` keeps a spool by now).
  const runnerDirs = (await fs.readdir(stack.root)).filter((name) => name.startsWith('runner-data-')).map((name) => path.join(stack.root, name));
  // Synced scripts live in the runner's data dir and are the executor's to read (it runs them): not a target.
  const runnerFiles = (await Promise.all(runnerDirs.map(filesUnder))).flat().filter((file) => !runnerDirs.some((dir) => file.startsWith(path.join(dir, 'scripts') + path.sep)));
  expect(runnerFiles.some((file) => file.endsWith('.jsonl')), 'the runners keep a spool').toBe(true);
  targets = {
    api_url: stack.apiUrl,
    // The runners' token file, the API's credential store and event files, each runner's spool.
    files: [path.join(stack.root, 'runner-token'), ...(await filesUnder(path.join(stack.root, 'data'))), ...runnerFiles],
    dirs: [...runnerDirs, path.join(stack.root, 'data')],
    other_run_id: other,
    temporal_address: inject('temporalAddress'),
  };
});
afterAll(async () => {
  await claude?.endpoint.close();
  await stack?.stop();
});

describe('a hostile agent, from inside its run', () => {
  it('runs as the unprivileged executor user', async () => {
    const user = await lookUpUser(DEFAULT_EXECUTOR_USER);
    expect(user, `the install step creates ${DEFAULT_EXECUTOR_USER}`).toBeDefined();
    const { body } = await stack.api<{ runners: Array<{ registration: { executor_user?: string } }> }>('GET', '/runners');
    expect(body.runners.map((runner) => runner.registration.executor_user)).toEqual(expect.arrayContaining([DEFAULT_EXECUTOR_USER]));
  });

  it('as a procedural script, finds no credential and is refused everything but the dev server', async () => {
    const id = await stack.postRun({ agent: 'hostile', parameters: { targets }, additional_demands: { tags: [procedural.tag] } });
    const run = await stack.waitForRun(id);
    expect(run.status, JSON.stringify(run.error)).toBe('completed');
    const stdout = (run.result as { stdout: string }).stdout;
    expect(stdout).not.toContain(stack.token);
    expect(stdout).not.toContain(stack.runnerToken);
    expectContained(parseHostileReport(stdout), 'procedural', targets, { temporalOpen: true });
  });

  it('as a Claude Code run, reads and runs the synced scripts where AO_SCRIPTS_DIR says, and cannot change them', async () => {
    const script = path.join(claude.dataDir, 'scripts', 'hostile', 'hostile.mjs');
    // Synced to every runner at registration.
    await expect.poll(() => fs.access(script).then(() => true, () => false)).toBe(true);
    const before = await fs.readFile(script, 'utf8');
    const command = [
      'echo "dir=$AO_SCRIPTS_DIR"',
      'head -c 40 "$AO_SCRIPTS_DIR/hostile/hostile.mjs"; echo',
      'echo tampered >> "$AO_SCRIPTS_DIR/hostile/hostile.mjs" && echo appended || echo refused-append',
      'touch "$AO_SCRIPTS_DIR/hostile/planted.mjs" && echo planted || echo refused-plant',
    ].join('; ');
    turns.push(anthropic.callTool('Bash', { command }), anthropic.reply('Done.'));
    const id = await stack.postRun({ agent: 'coder', prompt: 'use the scripts', additional_demands: { tags: [claude.tag] } });
    const run = await stack.waitForRun(id);
    expect(run.status, JSON.stringify(run.error)).toBe('completed');
    const output = JSON.stringify(claude.endpoint.mainRequests.at(-1)!.body);
    expect(output).toContain(`dir=${path.join(claude.dataDir, 'scripts')}`);
    expect(output).toContain(JSON.stringify(before.slice(0, 20)).slice(1, -1));
    expect(output).toContain('refused-append');
    expect(output).toContain('refused-plant');
    expect(await fs.readFile(script, 'utf8')).toBe(before);
  });

  it('as a Claude Code run, through its Bash tool, finds no credential and is refused everything but the dev server', async () => {
    const command = `node hostile.mjs --targets '${JSON.stringify(targets)}'`;
    turns.push(anthropic.callTool('Bash', { command }), anthropic.reply('Done.'));
    const id = await stack.postRun({ agent: 'coder', prompt: 'look around', additional_demands: { tags: [claude.tag] } });
    const run = await stack.waitForRun(id);
    expect(run.status, JSON.stringify(run.error)).toBe('completed');
    const results = claude.endpoint.mainRequests.flatMap((request) => anthropic.blocksOf(request, 'tool_result'));
    const text = results.map((block) => (typeof block.content === 'string' ? block.content : JSON.stringify(block.content))).join('\n');
    expect(text).not.toContain(stack.token);
    expect(text).not.toContain(stack.runnerToken);
    const report = parseHostileReport(results.flatMap((block) => (typeof block.content === 'string' ? [block.content] : Array.isArray(block.content) ? block.content.map((part: { text?: string }) => part.text ?? '') : [])).join('\n'));
    expectContained(report, 'claude-code', targets, { temporalOpen: true });
  });
});
