import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mergePolicies } from '../core/contract/policy.js';
import { judgeOnDisk, policyAskOf } from '../activities/execution/policy-judge.js';

/** The runner's judge: the CLIs' tool names in the judge's terms, and paths checked again on disk, links resolved. */

let root: string;
let workspace: string;
const policy = mergePolicies({ paths: { deny: ['.env*'] }, network: 'restricted' })!;

beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'ao-policy-judge-'));
  workspace = path.join(root, 'workspace');
  await fs.mkdir(path.join(workspace, 'src'), { recursive: true });
  await fs.mkdir(path.join(root, 'outside'));
  await fs.symlink(path.join(root, 'outside'), path.join(workspace, 'escape'));
  await fs.writeFile(path.join(workspace, 'config.txt'), 'x');
  await fs.symlink(path.join(workspace, 'config.txt'), path.join(workspace, 'innocent-name'));
  await fs.writeFile(path.join(workspace, '.env'), 'TOKEN=1');
  await fs.symlink(path.join(workspace, '.env'), path.join(workspace, 'settings.txt'));
});
afterAll(() => fs.rm(root, { recursive: true, force: true }));

describe('the judge on disk', () => {
  it('refuses a write through a link that leads out of the workspace, even to a file not there yet', async () => {
    expect(await judgeOnDisk(policy, { tool: 'Write', input: {}, files: ['escape/new.txt'] }, workspace)).toMatchObject({ verdict: 'deny', rule: expect.stringContaining('leads to') as unknown });
    expect(await judgeOnDisk(policy, { tool: 'write_file', input: { file_path: path.join(workspace, 'escape', 'deep', 'x') } }, workspace)).toMatchObject({ verdict: 'deny' });
  });

  it('refuses a read through a link to a denied file', async () => {
    expect(await judgeOnDisk(policy, { tool: 'Read', input: { file_path: 'settings.txt' } }, workspace)).toMatchObject({ verdict: 'deny', rule: expect.stringContaining('paths.deny: .env*') as unknown });
  });

  it('lets links inside the workspace be', async () => {
    expect(await judgeOnDisk(policy, { tool: 'Edit', input: {}, files: ['innocent-name'] }, workspace)).toEqual({ verdict: 'none' });
    expect(await judgeOnDisk(policy, { tool: 'Write', input: {}, files: ['src/new.ts'] }, workspace)).toEqual({ verdict: 'none' });
  });

  it('knows the web tools and file tools of each CLI', () => {
    expect(policyAskOf({ tool: 'WebFetch', input: { url: 'x' } })).toEqual({ kind: 'network', tool: 'WebFetch' });
    expect(policyAskOf({ tool: 'google_web_search', input: {} })).toEqual({ kind: 'network', tool: 'google_web_search' });
    expect(policyAskOf({ tool: 'replace', input: { file_path: 'a.ts' } })).toEqual({ kind: 'write', tool: 'replace', paths: ['a.ts'] });
    expect(policyAskOf({ tool: 'Grep', input: { path: 'src' } })).toEqual({ kind: 'read', tool: 'Grep', paths: ['src'] });
    expect(policyAskOf({ tool: 'fileChange', input: {}, files: ['b.ts'], access: 'write' })).toEqual({ kind: 'write', tool: 'fileChange', paths: ['b.ts'] });
    expect(policyAskOf({ tool: 'Bash', input: {}, command: 'ls' })).toEqual({ kind: 'shell', tool: 'Bash', command: 'ls' });
  });
});
