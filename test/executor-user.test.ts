import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_EXECUTOR_USER,
  ExecutorUserError,
  grantReadTree,
  grantSearch,
  grantTree,
  resolveExecutorUser,
  runAsPrefix,
  type ExecutorUser,
} from '../activities/containment/executor-user.js';
import { runProcess } from '../activities/executors/process.js';
import { runInPty } from '../activities/executors/pty-process.js';
import { startTsProcess } from './support/process.js';

const run = promisify(execFile);

/**
 * A root runner runs executors as the unprivileged executor user: these tests run as root (CI and
 * this machine), with the user the install step made.
 */
let user: ExecutorUser;
beforeAll(async () => {
  expect(process.getuid?.(), 'these tests run as root, as CI does').toBe(0);
  user = (await resolveExecutorUser(undefined))!;
  expect(user, `the install step (npm run executor-user:install) creates ${DEFAULT_EXECUTOR_USER}`).toMatchObject({ name: DEFAULT_EXECUTOR_USER });
});

/** Runs `script` with /bin/sh as the executor user; answers its exit code and output. */
async function asExecutor(script: string, ...args: string[]): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await run(runAsPrefix(user)[0]!, [...runAsPrefix(user).slice(1), '/bin/sh', '-c', script, 'sh', ...args]);
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const failure = error as { code: number; stdout: string; stderr: string };
    return { code: failure.code, output: failure.stdout + failure.stderr };
  }
}

/** A folder only root may enter, as mkdtemp makes them, with a workspace inside. */
async function closedTree(): Promise<{ outer: string; workspace: string; secret: string }> {
  const outer = await fs.mkdtemp(path.join(os.tmpdir(), 'ao-executor-user-'));
  const workspace = path.join(outer, 'project', 'workspace');
  await fs.mkdir(path.join(workspace, 'src'), { recursive: true, mode: 0o700 });
  await fs.writeFile(path.join(workspace, 'src', 'main.txt'), 'code\n', { mode: 0o600 });
  const secret = path.join(outer, 'secret');
  await fs.writeFile(secret, 'token\n', { mode: 0o600 });
  return { outer, workspace, secret };
}

describe('the executor user', () => {
  it('is who the process runs as: its own uid and gid, no supplementary groups, and no way back to root', async () => {
    const { output } = await asExecutor('id -u; id -G; grep NoNewPrivs /proc/self/status');
    expect(output.split('\n')).toEqual([String(user.uid), String(user.gid), expect.stringMatching(/^NoNewPrivs:\s+1$/), '']);
  });

  it.each([
    ['with ACLs', true],
    ['without ACLs (no setfacl): ownership and search bits', false],
  ])('gets the workspace and the way to it, and nothing beside it, %s', async (_label, acl) => {
    const { outer, workspace, secret } = await closedTree();
    // A link planted in the workspace to a file of the runner's: the grant does not follow it.
    await fs.symlink(secret, path.join(workspace, 'link-to-secret'));
    await fs.mkdir(path.join(workspace, '.git'), { mode: 0o700 });
    expect((await asExecutor('cat "$1"', path.join(workspace, 'src', 'main.txt'))).code).not.toBe(0);

    await grantSearch(user, path.dirname(workspace), { acl });
    await grantTree(user, workspace, ['.git'], { acl });
    const inside = await asExecutor('cat "$1/src/main.txt" && echo more >> "$1/src/main.txt" && mkdir "$1/new" && echo x > "$1/new/file"', workspace);
    expect(inside, inside.output).toMatchObject({ code: 0, output: 'code\n' });
    // What the runner adds later is the executor's too (a resumed run's files, a test's).
    await fs.writeFile(path.join(workspace, 'later.txt'), 'later\n');
    if (acl) expect((await asExecutor('echo edit >> "$1/later.txt"', workspace)).code).toBe(0);

    expect((await asExecutor('cat "$1"', secret)).output).toContain('Permission denied');
    expect((await asExecutor('cat "$1/link-to-secret"', workspace)).output).toContain('Permission denied');
    expect((await asExecutor('ls "$1/.git"', workspace)).output).toContain('Permission denied');
    // Search, not listing: the folders above the workspace cannot be read.
    expect((await asExecutor('ls "$1"', outer)).output).toContain('Permission denied');
    await fs.rm(outer, { recursive: true, force: true });
  });

  it('keeps read and write on a project opened to it when a script inside it is opened after', async () => {
    const { outer, workspace } = await closedTree();
    const project = path.join(workspace, 'my project');
    const scripts = path.join(project, '.ao', 'scripts', 'tool');
    await fs.mkdir(scripts, { recursive: true });
    await grantTree(user, project, ['.ao']);
    await grantSearch(user, path.dirname(scripts));
    await grantReadTree(user, scripts);
    expect((await asExecutor('ls "$1" && echo x > "$1/new"', project)).code).toBe(0);
    await fs.rm(outer, { recursive: true, force: true });
  });

  it.each([true, false])('may read and run a synced script (ACLs: %s)', async (acl) => {
    const { outer, workspace } = await closedTree();
    const script = path.join(workspace, 'tool.sh');
    await fs.writeFile(script, '#!/bin/sh\necho ran\n', { mode: 0o700 });
    await grantSearch(user, path.dirname(workspace), { acl });
    await grantReadTree(user, workspace, { acl });
    expect((await asExecutor('"$1"', script)).output).toBe('ran\n');
    expect((await asExecutor('echo x > "$1/new"', workspace)).code).not.toBe(0);
    await fs.rm(outer, { recursive: true, force: true });
  });

  it('runs the executor process as that user, both as a pipe and on a terminal', async () => {
    const cwd = await fs.mkdtemp(path.join(os.tmpdir(), 'ao-executor-user-'));
    await grantTree(user, cwd);
    const piped = await runProcess({ argv: ['id', '-u'], cwd, runAs: user });
    expect(piped).toMatchObject({ exitCode: 0, stdout: `${user.uid}\n` });
    const terminal = await runInPty({ argv: ['/bin/sh', '-c', 'id -u; echo oops >&2'], cwd, runAs: user });
    expect(terminal).toMatchObject({ exitCode: 0, stdout: `${user.uid}\n`, stderr: 'oops\n' });
    await fs.rm(cwd, { recursive: true, force: true });
  });

  it('is refused when it does not exist or is root by another name, and "root" keeps executors root', async () => {
    await expect(resolveExecutorUser('ao-nobody-here')).rejects.toThrow(/executors run as the unprivileged user "ao-nobody-here", which does not exist/);
    await expect(resolveExecutorUser('Bad User!')).rejects.toThrow(ExecutorUserError);
    expect(await resolveExecutorUser('root')).toBeUndefined();
    // A runner that is not root cannot change user, and says so.
    await expect(resolveExecutorUser(DEFAULT_EXECUTOR_USER, 1000)).rejects.toThrow(/only a runner running as root can run executors as another user/);
    expect(await resolveExecutorUser(undefined, 1000)).toBeUndefined();
  });

  it('keeps a root runner from starting without it, naming how to make it', async () => {
    const runner = startTsProcess('runner', 'workers/runner.ts', ['--executor-user', 'ao-nobody-here'], { TEMPORAL_ADDRESS: '127.0.0.1:1' });
    const { code } = await runner.exited;
    expect(code).toBe(1);
    expect(runner.output).toContain('executors run as the unprivileged user "ao-nobody-here", which does not exist');
  });
});
