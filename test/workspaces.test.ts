import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { git } from '../activities/git.js';
import { chooseMode, finishWorkspace, prepareWorkspace, pruneStaleWorktrees } from '../activities/workspace.js';
import type { EventKind, RunEvent } from '../core/contract/events.js';
import type { RunView } from '../core/contract/http.js';
import type { RunnerView } from '../api/fleet-service.js';
import { repoRoot } from '../core/config/paths.js';
import { runGate } from './support/gates.js';
import { TestStack, eventually, uniqueTag } from './support/stack.js';
import { testTime } from './support/time.js';
import { gitProject as initGitProject } from './support/git-project.js';

let stack: TestStack;

beforeAll(async () => {
  stack = await TestStack.create();
});
afterAll(async () => {
  await stack?.stop();
});

const gitRepo = async (): Promise<string> => initGitProject(await fs.mkdtemp(path.join(stack.root, 'repo-')));

async function hooksDir(files: Record<string, string>): Promise<string> {
  const dir = await fs.mkdtemp(path.join(stack.root, 'hooks-'));
  for (const [name, body] of Object.entries(files)) await fs.writeFile(path.join(dir, name), body, { mode: 0o755 });
  return dir;
}

/** The run's events once all of `kinds` are in: the runner sends them in batches, after the run's status. */
async function eventsOf(id: string, kinds: EventKind[], on: TestStack = stack): Promise<RunEvent[]> {
  return eventually(async () => {
    const { body } = await on.api<{ events: RunEvent[] }>('GET', `/runs/${id}/events`);
    const missing = kinds.filter((kind) => !body.events.some((event) => event.kind === kind));
    if (missing.length) throw new Error(`no ${missing.join(', ')} event yet`);
    return body.events;
  });
}

describe('a workspace per run', () => {
  it('gives two concurrent runs on one runner their own worktree and branch, and summarises each diff', async () => {
    const repo = await gitRepo();
    const tag = uniqueTag('wt');
    await stack.startRunner({ tags: [tag], capacity: 2, projectDir: repo });
    // Both are held until the gate opens, so they run at the same time however slow the machine is.
    const held = await runGate(stack.root);
    const ids = await Promise.all(
      ['a', 'b'].map((name) =>
        stack.postRun({
          agent: 'echo',
          parameters: { ...held.parameters, write_file: { path: `src/${name}.txt`, content: `one\ntwo\n${name}\n` } },
          additional_demands: { tags: [tag] },
        }),
      ),
    );
    // Both run at once on the one runner (capacity 2), each in its own worktree.
    await eventually(async () => {
      const states = await Promise.all(ids.map(async (id) => (await stack.api<RunView>('GET', `/runs/${id}`)).body.status));
      if (!states.every((status) => status === 'running')) throw new Error(`not both running: ${states.join(', ')}`);
    });
    await held.open();
    const runs = await Promise.all(ids.map((id) => stack.waitForRun(id)));
    const [first, second] = runs as [RunView, RunView];

    for (const [run, name] of [[first, 'a'], [second, 'b']] as const) {
      expect(run.status).toBe('completed');
      expect(run.workspace).toMatchObject({
        mode: 'worktree',
        dir: path.join(repo, '.ao', 'worktrees', run.id),
        branch: `ao/${run.id}`,
        committed: true,
        removed: true,
        diff: { files_changed: 1, added: 3, removed: 0, files: [{ path: `src/${name}.txt`, added: 3, removed: 0 }] },
      });
      expect(await git(repo, ['show', `ao/${run.id}:src/${name}.txt`])).toBe(`one\ntwo\n${name}\n`);
      expect(await git(repo, ['rev-parse', `ao/${run.id}`])).toContain(run.workspace!.head_commit!);
      await expect(fs.stat(run.workspace!.dir)).rejects.toThrow();
      const events = await eventsOf(run.id, ['diff_summary', 'file_touched']);
      expect(events.find((event) => event.kind === 'diff_summary')?.data).toMatchObject({ files_changed: 1, added: 3, branch: `ao/${run.id}` });
      expect(events.find((event) => event.kind === 'file_touched')?.data).toEqual({ path: `src/${name}.txt`, operation: 'changed', added: 3, removed: 0 });
    }
    await expect(git(repo, ['cat-file', '-e', `ao/${first.id}:src/b.txt`])).rejects.toThrow();
    expect(await git(repo, ['status', '--porcelain'])).toBe('');
  });

  it('fails the run with git’s message when the worktree cannot be made', async () => {
    const repo = await gitRepo();
    const tag = uniqueTag('badref');
    await stack.startRunner({ tags: [tag], projectDir: repo });
    const { body } = await stack.api<RunView>('POST', '/runs?wait=true', { body: { agent: 'echo', base_ref: 'no-such-branch', additional_demands: { tags: [tag] } } });
    expect(body.status).toBe('failed');
    expect(body.error?.type).toBe('WORKSPACE_FAILED');
    expect(body.error?.message).toMatch(/cannot create the run's worktree: git rev-parse .*no-such-branch/);
  });

  it('deletes the branch of a run that changed nothing (a resumed run starts from its commit), unless the profile keeps empty branches', async () => {
    const repo = await gitRepo();
    const echo = JSON.parse(await fs.readFile(path.join(repoRoot, 'profiles', 'echo.json'), 'utf8')) as { config?: Record<string, unknown> };
    const profiles = await fs.mkdtemp(path.join(stack.root, 'profiles-'));
    await fs.writeFile(path.join(profiles, 'keeping.json'), JSON.stringify({ ...echo, config: { ...echo.config, keep_empty_branches: true } }));
    const [dropping, keeping] = [uniqueTag('drop-empty'), uniqueTag('keep-empty')];
    await stack.startRunner({ tags: [dropping], projectDir: repo });
    await stack.startRunner({ tags: [keeping], projectDir: repo, profile: 'keeping', extraArgs: ['--profiles-dir', profiles] });
    const run = async (tag: string, extra: Record<string, unknown> = {}): Promise<RunView> =>
      (await stack.api<RunView>('POST', '/runs?wait=true', { body: { agent: 'echo', additional_demands: { tags: [tag] }, ...extra } })).body;
    const branchExists = (id: string): Promise<boolean> => git(repo, ['rev-parse', '--verify', '--quiet', `refs/heads/ao/${id}`]).then(() => true, () => false);

    const session = uniqueTag('empty-then-work');
    const empty = await run(dropping, { session_id: session });
    expect(empty.status).toBe('completed');
    expect(empty.workspace).toMatchObject({ branch_deleted: true, removed: true, diff: { files_changed: 0 } });
    expect(empty.workspace!.branch).toBeUndefined();
    expect(empty.workspace!.head_commit).toBe(empty.workspace!.base_commit);
    expect(await branchExists(empty.id)).toBe(false);
    // The session goes on from where the empty run left the code: its head commit.
    const worked = await run(dropping, { session_id: session, mode: 'resume', parameters: { write_file: { path: 'after.txt', content: 'after\n' } } });
    expect(worked.status, JSON.stringify(worked.error)).toBe('completed');
    expect(worked.workspace).toMatchObject({ branch: `ao/${worked.id}`, base_commit: empty.workspace!.head_commit, diff: { files_changed: 1 } });
    expect(await branchExists(worked.id)).toBe(true);

    const kept = await run(keeping);
    expect(kept.workspace).toMatchObject({ branch: `ao/${kept.id}`, removed: true, diff: { files_changed: 0 } });
    expect(kept.workspace!.branch_deleted).toBeUndefined();
    expect(await branchExists(kept.id)).toBe(true);
  });

  it('keeps the worktree for the resumed run when the runner is killed mid-run', async () => {
    // A stack of its own: a runner that comes back after kill -9 leaves its runner workflow failing its tasks for
    // a while, which stalls every dispatch in the namespace (see the crash recovery tests in lifecycle.test.ts).
    const own = await TestStack.create();
    try {
      const repo = await gitRepo();
      const tag = uniqueTag('resume-wt');
      const first = await own.startRunner({ tags: [tag], projectDir: repo });
      // Held until it restarted on the runner that came back, so the kill comes mid-run.
      const held = await runGate(own.root);
      const id = await own.postRun({ agent: 'echo', parameters: { ...held.parameters, write_file: { path: 'notes.md', content: 'kept\n' } }, additional_demands: { tags: [tag] } });
      await own.waitForRun(id, (run) => run.status === 'running');
      await eventually(() => fs.stat(path.join(repo, '.ao', 'worktrees', id, 'notes.md')));
      await first.process.stop('SIGKILL');
      // The same runner comes back: same project, same data dir, so what its spool had not sent yet is sent now.
      await own.startRunner({ tags: [tag], projectDir: repo, dataDir: first.dataDir });
      await own.waitForRun(id, (run) => run.history.some((change) => change.reason?.startsWith('executor restarted') === true), testTime(90_000));
      await held.open();
      const run = await own.waitForRun(id);
      expect(run.status, JSON.stringify(run.error)).toBe('completed');
      await eventually(async () => {
        const events = await eventsOf(id, ['state_changed'], own);
        const ready = events.filter((event) => event.kind === 'state_changed' && event.data.phase === 'workspace_ready');
        expect(ready.map((event) => event.data.reused)).toEqual([false, true]);
        expect(new Set(ready.map((event) => event.data.dir)).size).toBe(1);
      });
      expect(await git(repo, ['show', `ao/${id}:notes.md`])).toBe('kept\n');
    } finally {
      await own.stop();
    }
  });

  it('works in the project folder when it is not a git repository, or in an empty temporary folder', async () => {
    const plain = await fs.mkdtemp(path.join(stack.root, 'plain-'));
    expect(await chooseMode(plain, undefined)).toBe('project');
    await expect(chooseMode(plain, 'worktree')).rejects.toThrow(/needs a git repository/);
    // A folder inside another repository is not a project of its own: no worktrees of the outer one.
    const inner = path.join(await gitRepo(), 'data', 'workspace');
    await fs.mkdir(inner, { recursive: true });
    expect(await chooseMode(inner, undefined)).toBe('project');
    const temp = await prepareWorkspace(plain, 'run-temp', 'temp');
    expect(await fs.readdir(temp.dir)).toEqual([]);
    await fs.rm(temp.dir, { recursive: true });
  });
});

describe('cleaning up worktrees', () => {
  it('never removes a worktree whose work is not on its branch', async () => {
    const repo = await gitRepo();
    const workspace = await prepareWorkspace(repo, 'run-keep', 'worktree');
    await fs.writeFile(path.join(workspace.dir, 'draft.txt'), 'unsaved\n');
    const outcome = await finishWorkspace(workspace, 'run-keep', { commit: false, remove: true });
    expect(outcome.removed).toBe(false);
    expect(await fs.readFile(path.join(workspace.dir, 'draft.txt'), 'utf8')).toBe('unsaved\n');
  });

  it('prunes worktrees of finished runs on start, keeping their work on the branch', async () => {
    const repo = await gitRepo();
    const finished = await prepareWorkspace(repo, 'run-finished', 'worktree');
    const live = await prepareWorkspace(repo, 'run-live', 'worktree');
    await fs.writeFile(path.join(finished.dir, 'left.txt'), 'left over\n');
    const pruned = await pruneStaleWorktrees(repo, (runId) => Promise.resolve(runId === 'run-finished'));
    expect(pruned).toEqual(['run-finished']);
    await expect(fs.stat(finished.dir)).rejects.toThrow();
    expect(await git(repo, ['show', 'ao/run-finished:left.txt'])).toBe('left over\n');
    await expect(fs.stat(live.dir)).resolves.toBeTruthy();
  });
});

describe('a session’s worktree', () => {
  it('is one path for the session’s runs, each on its own branch from the last one’s', async () => {
    const repo = await gitRepo();
    const ended = new Set<string>();
    const options = (baseRef?: string) => ({ key: 'session-1', isFinished: (runId: string) => Promise.resolve(ended.has(runId)), ...(baseRef ? { baseRef } : {}) });
    const first = await prepareWorkspace(repo, 'run-one', 'worktree', options());
    expect(first.dir).toBe(path.join(repo, '.ao', 'worktrees', 'session-1'));
    await fs.writeFile(path.join(first.dir, 'word.txt'), 'gamma\n');
    // The run ends with its folder kept (keep_worktree): the next run of the session takes it over.
    await finishWorkspace(first, 'run-one', { commit: true, remove: false });
    ended.add('run-one');
    const second = await prepareWorkspace(repo, 'run-two', 'worktree', options('ao/run-one'));
    expect(second).toMatchObject({ dir: first.dir, branch: 'ao/run-two' });
    expect(second.reused).toBeUndefined();
    expect(await fs.readFile(path.join(second.dir, 'word.txt'), 'utf8')).toBe('gamma\n');
    // A crashed attempt of the same run finds its own folder again.
    expect(await prepareWorkspace(repo, 'run-two', 'worktree', options('ao/run-one'))).toMatchObject({ dir: first.dir, reused: true });
  });

  it('is not shared with a live run of the same session: the second run gets its own folder', async () => {
    const repo = await gitRepo();
    const options = { key: 'session-2', isFinished: () => Promise.resolve(false) };
    const live = await prepareWorkspace(repo, 'run-live-one', 'worktree', options);
    const other = await prepareWorkspace(repo, 'run-live-two', 'worktree', options);
    expect(live.dir).toBe(path.join(repo, '.ao', 'worktrees', 'session-2'));
    expect(other.dir).toBe(path.join(repo, '.ao', 'worktrees', 'run-live-two'));
    // Pruning on start goes by whose worktree a folder is, not by its name.
    const pruned = await pruneStaleWorktrees(repo, (runId) => Promise.resolve(runId === 'run-live-one'));
    expect(pruned).toEqual(['run-live-one']);
    await expect(fs.stat(live.dir)).rejects.toThrow();
    await expect(fs.stat(other.dir)).resolves.toBeTruthy();
  });
});

describe('hooks', () => {
  it('blocks a run whose pre_run hook fails, with the hook’s output as the cause', async () => {
    const tag = uniqueTag('prerun');
    const hooks = await hooksDir({ 'pre_run.sh': '#!/bin/sh\ncat > /dev/null\necho "policy says no" >&2\nexit 3\n' });
    await stack.startRunner({ tags: [tag], extraArgs: ['--hooks-dir', hooks] });
    const { body } = await stack.api<RunView>('POST', '/runs?wait=true', { body: { agent: 'echo', additional_demands: { tags: [tag] } } });
    expect(body.status).toBe('failed');
    expect(body.error).toEqual({ type: 'HOOK_FAILED', message: 'pre_run hook pre_run.sh exited with code 3: policy says no' });
    const events = await eventsOf(body.id, ['hook_run']);
    expect(events.find((event) => event.kind === 'hook_run')?.data).toMatchObject({ hook: 'pre_run', passed: false, exit_code: 3 });
    expect(events.some((event) => event.kind === 'session_started')).toBe(false);
  });

  it('gives post_run the run and its outcome as JSON on stdin', async () => {
    const tag = uniqueTag('postrun');
    const out = path.join(stack.root, `${tag}.json`);
    const hooks = await hooksDir({ post_run: `#!/bin/sh\ncat > '${out}'\n` });
    await stack.startRunner({ tags: [tag], extraArgs: ['--hooks-dir', hooks] });
    const { body } = await stack.api<RunView>('POST', '/runs?wait=true', { body: { agent: 'echo', prompt: 'hooked', additional_demands: { tags: [tag] } } });
    expect(body.status).toBe('completed');
    const input = JSON.parse(await fs.readFile(out, 'utf8')) as { run: { run_id: string; prompt: string }; outcome: { exit_code: number } };
    expect(input.run).toMatchObject({ run_id: body.id, prompt: 'hooked' });
    expect(input.outcome.exit_code).toBe(0);
  });

  it('takes a runner out of matching while its health_check fails, and back when it passes', async () => {
    const tag = uniqueTag('health');
    const hooks = await hooksDir({ health_check: '#!/bin/sh\necho "disk full" >&2\nexit 1\n' });
    const { runnerId } = await stack.startRunner({ tags: [tag], extraArgs: ['--hooks-dir', hooks, '--health-interval', '1'] });
    const unhealthy = await eventually(async () => {
      const { body } = await stack.api<{ runners: RunnerView[] }>('GET', '/runners');
      const runner = body.runners.find((candidate) => candidate.runner_id === runnerId);
      if (runner?.status !== 'unhealthy') throw new Error(`runner is ${runner?.status}`);
      return runner;
    });
    expect(unhealthy.unhealthy_reason).toBe('health_check hook health_check exited with code 1: disk full');
    const id = await stack.postRun({ agent: 'echo', additional_demands: { tags: [tag] } });
    expect((await stack.waitForRun(id, (run) => run.pending_reason !== undefined)).status).toBe('pending');

    await fs.writeFile(path.join(hooks, 'health_check'), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
    const run = await stack.waitForRun(id);
    expect(run.status).toBe('completed');
    expect(run.runner_id).toBe(runnerId);
  });
});
