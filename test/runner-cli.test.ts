import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { startTsProcess } from './support/process.js';
import { parseRunnerOptions, runnerIdFor } from '../workers/runner-options.js';

async function runCli(args: string[], env: NodeJS.ProcessEnv = {}) {
  const cli = startTsProcess('runner', 'workers/runner.ts', args, { TEMPORAL_ADDRESS: '127.0.0.1:1', ...env });
  const { code } = await cli.exited;
  return { code, output: cli.output };
}

describe('the runner CLI', () => {
  it('lists the shipped profiles with their type and summary', async () => {
    const { code, output } = await runCli(['--profile-list']);
    expect(code).toBe(0);
    for (const [name, type] of [['codex', 'codex'], ['echo', 'echo'], ['gemini', 'gemini'], ['coding', 'claude-code'], ['research', 'claude-code'], ['supervised', 'claude-code'], ['procedural', 'procedural']]) {
      expect(output).toMatch(new RegExp(`^${name}\\s+${type}\\s+\\S`, 'm'));
    }
  });

  it('fails on an unknown profile and lists the available ones', async () => {
    const { code, output } = await runCli(['--profile', 'nope']);
    expect(code).toBe(1);
    expect(output).toContain('unknown executor profile "nope"; available: codex, coding, echo, gemini, procedural, research, supervised');
  });

  it('names the file and the field of an invalid profile', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ao-profiles-'));
    await fs.writeFile(path.join(dir, 'broken.json'), JSON.stringify({ type: 'vim', config: {} }));
    const { code, output } = await runCli(['--profile', 'broken', '--profiles-dir', dir]);
    expect(code).toBe(1);
    expect(output).toContain(`${path.join(dir, 'broken.json')} is invalid: type:`);
    const listing = await runCli(['--profile-list', '--profiles-dir', dir]);
    expect(listing.output).toMatch(/^broken\s+INVALID/m);
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('documents every option in --help', async () => {
    const { code, output } = await runCli(['--help']);
    expect(code).toBe(0);
    for (const flag of ['--profile', '--profile-list', '--tags', '--require-matching-tags', '--project-dir', '--capacity']) expect(output).toContain(flag);
  });

  it('explains a bad option value', async () => {
    const { code, output } = await runCli(['--profile', 'echo', '--capacity', '0']);
    expect(code).toBe(1);
    expect(output).toContain('--capacity / AO_RUNNER_CAPACITY: capacity must be at least 1');
  });
});

describe('runner options', () => {
  it('takes the forge remote from a flag or the environment and the forge token only from the environment', () => {
    expect(parseRunnerOptions([], {})).toMatchObject({ forgeRemote: 'origin', forgeToken: undefined });
    expect(parseRunnerOptions(['--forge-remote', 'upstream'], { AO_FORGE_TOKEN: 'ghs_from_env', AO_FORGE_REMOTE: 'other' })).toMatchObject({ forgeRemote: 'upstream', forgeToken: 'ghs_from_env' });
    // A token on the command line would show in `ps`: there is no flag for it.
    expect(() => parseRunnerOptions(['--forge-token', 'ghs_x'], {})).toThrow(/--forge-token/);
    expect(() => parseRunnerOptions(['--forge-remote', '--upload-pack=evil'], {})).toThrow();
  });

  it('reads the environment, and flags win over it', () => {
    const env = { AO_RUNNER_PROFILE: 'echo', AO_RUNNER_TAGS: 'gpu, linux', AO_RUNNER_CAPACITY: '3', AO_RUNNER_REQUIRE_MATCHING_TAGS: 'true' };
    const fromEnv = parseRunnerOptions([], env);
    expect(fromEnv).toMatchObject({ profile: 'echo', tags: ['gpu', 'linux'], capacity: 3, requireMatchingTags: true });
    expect(parseRunnerOptions(['--tags', 'arm', '--capacity', '5'], env)).toMatchObject({ tags: ['arm'], capacity: 5 });
  });

  it('takes a containment mode, auto by default, and names the option when it is not one', () => {
    expect(parseRunnerOptions([], {}).containment).toBe('auto');
    expect(parseRunnerOptions(['--containment', 'process-group'], { AO_RUNNER_CONTAINMENT: 'cgroup' }).containment).toBe('process-group');
    expect(() => parseRunnerOptions(['--containment', 'jail'], {})).toThrow(/--containment \/ AO_RUNNER_CONTAINMENT: /);
  });

  it('derives the same runner id from the same host, project dir and profile, and another otherwise', () => {
    const id = runnerIdFor('Build-Host', '/srv/app', 'coding');
    expect(id).toBe(runnerIdFor('Build-Host', '/srv/app', 'coding'));
    expect(id).toMatch(/^build-host\.coding\.[0-9a-f]{10}$/);
    expect(runnerIdFor('Build-Host', '/srv/other', 'coding')).not.toBe(id);
  });
});
