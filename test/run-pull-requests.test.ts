import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createFlowRunnerActivities } from '../activities/flow-runner.js';
import { git } from '../activities/git.js';
import { repoRoot } from '../core/config/paths.js';
import { replaySinks } from './support/replay-sinks.js';
import type { RunView } from '../core/contract/http.js';
import { collectPageErrors, launchBrowser, screenshot } from './support/browser.js';
import { bareRemote, fakeForge, remoteHead, type FakeForge } from './support/forge.js';
import { gitProject } from './support/git-project.js';
import { TestStack, uniqueTag } from './support/stack.js';

/**
 * A single run that ends with a pull request: an echo agent that writes a file in its worktree,
 * whose agent config names a forge command; a bare repository stands in for the forge remote and
 * a small script for the forge's CLI. Real git, real processes, the real runner.
 */

const FORGE_TOKEN = 'forge-token-for-the-run-pr-test';
const PR_URL = 'https://forge.invalid/acme/app/pull/21';

let stack: TestStack;
let projectDir: string;
let remote: string;
let tag: string;
let forge: FakeForge;
let failingForge: FakeForge;
/** The run the first test opened a pull request for, which the dashboard test shows. */
let opened: RunView | undefined;

/** An agent like the shipped echo (its parameters included) with this pull request config. */
async function echoAgentWith(name: string, pullRequest: Record<string, unknown> | undefined, extra: Record<string, unknown> = {}): Promise<void> {
  const echo = JSON.parse(await fs.readFile(path.join(repoRoot, 'config', 'agents', 'echo', 'agent.json'), 'utf8')) as Record<string, unknown>;
  const created = await stack.api('POST', '/agents', { body: { ...echo, ...extra, name, ...(pullRequest ? { pull_request: pullRequest } : {}) } });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
}

const writing = (file: string, content: string) => ({ write_file: { path: file, content } });

beforeAll(async () => {
  stack = await TestStack.create();
  projectDir = await gitProject(await fs.mkdtemp(path.join(stack.root, 'pr-project-')), { 'README.md': '# app\n' });
  remote = await bareRemote(stack.root, projectDir);
  tag = uniqueTag('run-pr');
  await stack.startRunner({ tags: [tag], projectDir, env: { AO_FORGE_TOKEN: FORGE_TOKEN } });
  // The forge command echoes its token, as a careless one might: the run's state must not show it.
  forge = await fakeForge(stack.root, { url: PR_URL, echoToken: true });
  failingForge = await fakeForge(stack.root, { url: PR_URL, failWith: 'HTTP 422: a pull request for this branch already exists' });
  await echoAgentWith('echo-pr', { command: [...forge.program, 'pr', 'create', '--head', '{branch}', '--title', '{title}', '--body', '{body}', '--base', '{base}'] });
  // Placeholders standing alone as elements: where a value that looks like an option would be read as one.
  await echoAgentWith('echo-pr-bare', { remote: 'origin', command: [...forge.program, '{title}', '{body}', '{branch}', '{base}'] });
  await echoAgentWith('echo-pr-temp', { command: [...forge.program, 'pr', 'create'] }, { workspace_mode: 'temp' });
  await echoAgentWith('echo-pr-failing', { command: [...failingForge.program, 'pr', 'create', '--head', '{branch}'] });
});
afterAll(async () => {
  await stack?.stop();
});

/** The real `ao` CLI against the stack's API, with nothing of this process's environment but PATH. */
const aoCli = (args: string[]): Promise<{ code: number; stdout: string; stderr: string }> =>
  new Promise((resolve) => {
    const env = { PATH: process.env.PATH, HOME: stack.root, XDG_CONFIG_HOME: path.join(stack.root, 'cli-config'), AO_DATA_DIR: path.join(stack.root, 'cli-data'), AO_API_URL: stack.apiUrl, AO_API_TOKEN: stack.token };
    execFile(process.execPath, [path.join(repoRoot, 'bin', 'ao.js'), ...args], { env, cwd: stack.root }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });

const runTo = async (body: Record<string, unknown>): Promise<RunView> => stack.waitForRun(await stack.postRun({ ...body, additional_demands: { tags: [tag] } }));

describe('a run whose agent defines a pull request', () => {
  it('pushes its branch to the remote, runs the forge command and shows the pull request', async () => {
    const before = (await forge.calls()).length;
    const prompt = 'Add notes.txt with the release notes\n\nSecond line of the task.';
    const run = await runTo({ agent: 'echo-pr', prompt, parameters: writing('notes.txt', 'notes\n'), base_ref: 'main' });
    expect(run.status, JSON.stringify(run.error)).toBe('completed');
    const branch = `ao/${run.id}`;
    expect(run.workspace).toMatchObject({ mode: 'worktree', branch, committed: true });
    // The branch reached the bare remote at the run's head, with the run's file on it.
    expect(await remoteHead(remote, branch)).toBe(run.workspace!.head_commit);
    expect(await git(remote, ['show', `${branch}:notes.txt`])).toBe('notes\n');
    expect(run.pull_request).toMatchObject({ url: PR_URL, remote: 'origin', branch });
    // The forge command printed the token; the run's state has it redacted.
    expect(run.pull_request!.output).toContain('authenticated with [redacted]');
    expect(JSON.stringify(run)).not.toContain(FORGE_TOKEN);
    expect(run.history.map((change) => change.reason)).toContain(`opening a pull request for ${branch}`);
    expect(run.history.at(-1)?.reason).toBe(`exit code 0; pull request ${PR_URL}`);

    const calls = (await forge.calls()).slice(before);
    expect(calls).toHaveLength(1);
    const { argv, gh_token } = calls[0]!;
    expect(argv.slice(0, 6)).toEqual(['pr', 'create', '--head', branch, '--title', 'Add notes.txt with the release notes']);
    expect(argv[6]).toBe('--body');
    expect(argv[7]).toContain(prompt);
    expect(argv[7]).toContain(`Made by ao run ${run.id} of agent echo-pr, started by`);
    expect(argv[7]).toContain('1 file(s) changed, +1 −0.');
    expect(argv.slice(8)).toEqual(['--base', 'main']);
    // The forge command gets the runner's forge token; the executor never did (its environment is the runner's business).
    expect(gh_token).toBe(FORGE_TOKEN);

    // Its history replays against the workflow code, as the control worker runs it.
    const history = await stack.client.workflow.getHandle(run.workflow_id).fetchHistory();
    await Worker.runReplayHistory({ workflowBundle: { codePath: inject('workflowBundle') }, sinks: replaySinks() }, history, run.workflow_id);
    opened = run;
  });

  it('links the pull request on the run page of the dashboard', async () => {
    expect(opened, 'the run of the test above opened one').toBeDefined();
    const browser = await launchBrowser();
    try {
      const page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
      const errors = collectPageErrors(page);
      await page.goto(`${stack.apiUrl}/ui/runs/${opened!.id}#token=${stack.token}`);
      await page.locator('[data-testid=run-status][data-status=completed]').waitFor();
      const link = page.locator('[data-testid=run-pull-request] a');
      expect(await link.getAttribute('href')).toBe(PR_URL);
      expect(await link.innerText()).toBe(PR_URL);
      expect(await page.locator('[data-testid=run-pull-request]').innerText()).toContain(`ao/${opened!.id} pushed to origin`);
      await screenshot(page, 'run-pull-request');
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
    }
  });

  it('opens none when the run asks for none (pull_request: false)', async () => {
    const before = (await forge.calls()).length;
    const run = await runTo({ agent: 'echo-pr', prompt: 'no pull request, please', parameters: writing('quiet.txt', 'quiet\n'), pull_request: false });
    expect(run.status).toBe('completed');
    expect(run.pull_request).toBeUndefined();
    expect(await remoteHead(remote, `ao/${run.id}`)).toBeUndefined();
    expect(await git(projectDir, ['show', `ao/${run.id}:quiet.txt`])).toBe('quiet\n');
    expect(await forge.calls()).toHaveLength(before);
  });

  it('opens none for `ao run --no-pull-request`, and `ao show` prints an opened one', async () => {
    expect(opened, 'the run of the first test opened one').toBeDefined();
    const shown = await aoCli(['show', opened!.id]);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout.split('\n').find((line) => line.trimStart().startsWith('pull request'))).toContain(PR_URL);
    const before = (await forge.calls()).length;
    const started = await aoCli(['run', 'echo-pr', '--no-pull-request', '--tag', tag, '--prompt', 'from the CLI', '-p', 'write_file={"path":"cli.txt","content":"cli\\n"}']);
    expect(started.code, started.stderr).toBe(0);
    const run = await stack.waitForRun(started.stdout.trim());
    expect(run.status).toBe('completed');
    expect(run.workspace?.branch).toBe(`ao/${run.id}`);
    expect(run.pull_request).toBeUndefined();
    expect(await forge.calls()).toHaveLength(before);
    // Without the flag nothing is sent: an agent without a pull request runs as before.
    const plain = await aoCli(['run', 'echo', '--tag', tag, '--prompt', 'plain']);
    expect(plain.code, plain.stderr).toBe(0);
    expect((await stack.waitForRun(plain.stdout.trim())).status).toBe('completed');
  });

  it('opens none, and says why, when the run changed nothing', async () => {
    const before = (await forge.calls()).length;
    const run = await runTo({ agent: 'echo-pr', prompt: 'look, but change nothing' });
    expect(run.status).toBe('completed');
    expect(run.pull_request).toBeUndefined();
    // The profile keeps no empty branches (keep_empty_branches unset): there is nothing to push.
    expect(run.workspace?.branch_deleted).toBe(true);
    expect(run.history.map((change) => change.reason)).toContain('no pull request: the run changed nothing (its empty branch was deleted)');
    expect(await remoteHead(remote, `ao/${run.id}`)).toBeUndefined();
    expect(await forge.calls()).toHaveLength(before);
  });

  it('opens none, and says why, when the run worked outside a git worktree', async () => {
    const before = (await forge.calls()).length;
    const run = await runTo({ agent: 'echo-pr-temp', prompt: 'write somewhere temporary', parameters: writing('scratch.txt', 'x\n') });
    expect(run.status).toBe('completed');
    expect(run.workspace?.mode).toBe('temp');
    expect(run.pull_request).toBeUndefined();
    expect(run.history.map((change) => change.reason)).toContain('no pull request: the run worked in a temp folder, not a git worktree: it has no branch');
    expect(await forge.calls()).toHaveLength(before);
  });

  it('fails with PULL_REQUEST_FAILED when the forge command fails, its work kept on the pushed branch', async () => {
    const run = await runTo({ agent: 'echo-pr-failing', prompt: 'Add a file', parameters: writing('kept.txt', 'kept\n') });
    const branch = `ao/${run.id}`;
    expect(run.status).toBe('failed');
    expect(run.error?.type).toBe('PULL_REQUEST_FAILED');
    expect(run.error?.message).toContain(`the run's work is on branch ${branch}, but its pull request was not opened`);
    expect(run.error?.message).toContain('HTTP 422: a pull request for this branch already exists');
    expect(run.workspace?.branch).toBe(branch);
    // The push came before the command: the branch is on the remote, and in the project.
    expect(await remoteHead(remote, branch)).toBe(run.workspace!.head_commit);
    expect(await git(projectDir, ['show', `${branch}:kept.txt`])).toBe('kept\n');
    expect((await failingForge.calls()).length).toBeGreaterThanOrEqual(1);
  });
});

describe('pull_request on POST /runs', () => {
  it('refuses pull_request: true for an agent that defines none, and a non-boolean, with a 400 that says why', async () => {
    const refused = await stack.api<{ error: string; details?: { agent?: string } }>('POST', '/runs', { body: { agent: 'echo', prompt: 'x', pull_request: true, additional_demands: { tags: [tag] } } });
    expect(refused.status).toBe(400);
    expect(refused.body.error).toContain('agent "echo" defines no pull_request');
    expect(refused.body.details?.agent).toBe('echo');
    const malformed = await stack.api<{ details?: { problems?: string[] } }>('POST', '/runs', { body: { agent: 'echo-pr', pull_request: 'yes' } });
    expect(malformed.status).toBe(400);
    expect(malformed.body.details?.problems?.join()).toContain('pull_request');
  });

  it('refuses an agent whose pull request config is a shell string or names an option as its remote', async () => {
    const echo = { name: 'echo-pr-bad', demands: { executor_type: 'echo', tags: [] } };
    expect((await stack.api('POST', '/agents', { body: { ...echo, pull_request: { command: 'gh pr create --fill' } } })).status).toBe(400);
    expect((await stack.api('POST', '/agents', { body: { ...echo, pull_request: { remote: '--upload-pack=touch /tmp/x', command: ['gh'] } } })).status).toBe(400);
    expect((await stack.api('POST', '/agents', { body: { ...echo, pull_request: { command: [] } } })).status).toBe(400);
  });
});

describe('hostile input on the way to git and the forge command', () => {
  it('never passes a prompt or base that looks like an option as one', async () => {
    const before = (await forge.calls()).length;
    // A base that is an option is no git ref: refused at the edge.
    const badBase = await stack.api('POST', '/runs', { body: { agent: 'echo-pr-bare', prompt: 'x', base_ref: '--upload-pack=touch pwned', additional_demands: { tags: [tag] } } });
    expect(badBase.status).toBe(400);
    const prompt = '--upload-pack=touch pwned';
    const run = await runTo({ agent: 'echo-pr-bare', prompt, parameters: writing('hostile.txt', 'x\n') });
    expect(run.status, JSON.stringify(run.error)).toBe('completed');
    const calls = (await forge.calls()).slice(before);
    expect(calls).toHaveLength(1);
    const [title, body, branch, base] = calls[0]!.argv;
    expect(title).toBe('upload-pack=touch pwned');
    expect(body!.startsWith('upload-pack=touch pwned')).toBe(true);
    expect(branch).toBe(`ao/${run.id}`);
    expect(base).toBe('');
    expect(calls[0]!.argv.every((element) => !element.startsWith('-'))).toBe(true);
    expect(await remoteHead(remote, `ao/${run.id}`)).toBe(run.workspace!.head_commit);
    await expect(fs.stat(path.join(projectDir, 'pwned'))).rejects.toThrow();
  });

  it('refuses, where git runs, a branch or remote that looks like an option, before git or the command sees it', async () => {
    // ao names run branches itself; this is the runner-side guard should a request ever carry another name.
    const runnerSide = createFlowRunnerActivities({ projectDir, forge: { remote: 'origin' } });
    const openPullRequest = (request: Parameters<typeof runnerSide.openPullRequest>[0]) => runnerSide.openPullRequest(request);
    const before = (await forge.calls()).length;
    const request = { title: 't', body: 'b', command: [...forge.program, '{branch}'] };
    await expect(openPullRequest({ ...request, branch: '--upload-pack=touch pwned', remote: 'origin' })).rejects.toThrow('refused to push: "--upload-pack=touch pwned" is not a branch name');
    await expect(openPullRequest({ ...request, branch: 'ao/x', remote: '--receive-pack=touch pwned' })).rejects.toThrow('is not a remote name');
    await expect(openPullRequest({ ...request, branch: 'ao/../main', remote: 'origin' })).rejects.toThrow('refused to push');
    expect(await forge.calls()).toHaveLength(before);
    await expect(fs.stat(path.join(projectDir, 'pwned'))).rejects.toThrow();
  });
});
