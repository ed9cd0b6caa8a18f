import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listProfiles, loadProfile } from '../core/config/profiles.js';
import { defaultProfilesDir } from '../core/config/paths.js';
import { InvalidConfigFileError } from '../core/contract/errors.js';
import { startTsProcess } from './support/process.js';
import { TestStack } from './support/stack.js';

/** A profiles folder with the shipped `coding` profile and a copy of it whose `permission_mode` is misspelt. */
async function profilesWithTypo(): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ao-profiles-'));
  const coding = JSON.parse(await fs.readFile(path.join(defaultProfilesDir, 'coding.json'), 'utf8')) as { config: Record<string, unknown> };
  const { permission_mode: mode, ...rest } = coding.config;
  await fs.writeFile(path.join(dir, 'coding.json'), JSON.stringify(coding));
  await fs.writeFile(path.join(dir, 'typo.json'), JSON.stringify({ ...coding, config: { ...rest, permision_mode: mode } }));
  return dir;
}

let dir: string;
let stack: TestStack;

beforeAll(async () => {
  dir = await profilesWithTypo();
  stack = await TestStack.create({ apiEnv: { AO_PROFILES_DIR: dir } });
});
afterAll(async () => {
  await stack?.stop();
  await fs.rm(dir, { recursive: true, force: true });
});

describe('executor profiles', () => {
  it('load every shipped profile with its type-checked config', async () => {
    const listed = await listProfiles(defaultProfilesDir);
    expect(listed.filter((entry) => 'error' in entry)).toEqual([]);
    expect(listed.map((entry) => entry.name)).toEqual(['codex', 'coding', 'echo', 'gemini', 'procedural', 'research', 'supervised']);
    const supervised = await loadProfile(defaultProfilesDir, 'supervised');
    expect(supervised.profile).toMatchObject({ type: 'claude-code', config: { approval_required_tools: ['Write', 'Edit', 'Bash'], approval_timeout_seconds: 3600 } });
  });

  it('refuse a misspelt config key, naming the key and the file', async () => {
    const file = path.join(dir, 'typo.json');
    const error = await loadProfile(dir, 'typo').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(InvalidConfigFileError);
    expect((error as Error).message).toBe(`${file} is invalid: config: Unrecognized key: "permision_mode"`);
  });

  it('refuse a key of another executor type and a value out of the type’s set', async () => {
    await fs.writeFile(path.join(dir, 'mixed.json'), JSON.stringify({ type: 'codex', config: { sandbox: 'wide-open', permission_mode: 'plan' } }));
    const error = (await loadProfile(dir, 'mixed').catch((caught: unknown) => caught)) as InvalidConfigFileError;
    expect(error.problems).toEqual(expect.arrayContaining(['config: Unrecognized key: "permission_mode"', expect.stringMatching(/^config\.sandbox: Invalid option/)]));
    await fs.rm(path.join(dir, 'mixed.json'));
  });

  it('show the misspelt key in GET /profiles, beside the valid profile', async () => {
    const { status, body } = await stack.api<{ profiles: Array<{ name: string; error?: string; profile?: unknown }> }>('GET', '/profiles');
    expect(status).toBe(200);
    expect(body.profiles.find((entry) => entry.name === 'coding')?.profile).toMatchObject({ type: 'claude-code' });
    expect(body.profiles.find((entry) => entry.name === 'typo')?.error).toContain('config: Unrecognized key: "permision_mode"');
  });

  it('stop a runner started with the misspelt profile, and mark it in --profile-list', async () => {
    const start = startTsProcess('runner', 'workers/runner.ts', ['--profile', 'typo', '--profiles-dir', dir], { TEMPORAL_ADDRESS: '127.0.0.1:1' });
    expect((await start.exited).code).toBe(1);
    expect(start.output).toContain(`${path.join(dir, 'typo.json')} is invalid: config: Unrecognized key: "permision_mode"`);
    const list = startTsProcess('runner', 'workers/runner.ts', ['--profile-list', '--profiles-dir', dir], { TEMPORAL_ADDRESS: '127.0.0.1:1' });
    await list.exited;
    expect(list.output).toMatch(/^typo\s+INVALID\s+.*Unrecognized key: "permision_mode"/m);
  });
});
