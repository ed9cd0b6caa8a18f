import fs from 'node:fs/promises';
import path from 'node:path';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { git } from '../activities/git.js';
import { repoRoot } from '../core/config/paths.js';
import { replaySinks } from './support/replay-sinks.js';
import type { FlowRunView } from '../core/contract/flows.js';
import type { RunView } from '../core/contract/http.js';
import * as anthropic from './support/scripted-anthropic.js';
import * as openai from './support/scripted-openai.js';
import { collectPageErrors, launchBrowser, screenshot } from './support/browser.js';
import { ownedByExecutor } from './support/executor-user.js';
import { TestStack, eventually, uniqueTag } from './support/stack.js';
import { gitProject as initGitProject } from './support/git-project.js';
import { bareRemote, fakeForge, remoteHead, type FakeForge } from './support/forge.js';

/**
 * Builder–reviewer flows on the real CLIs: Claude Code builds on a branch, Codex reviews it
 * read-only through its output schema, the builder's session resumes with the comments, and an
 * approved flow pushes its branch and opens a pull request through the configured forge command.
 */

const bin = (name: string): string => path.join(repoRoot, 'node_modules', '.bin', name);
const FORGE_TOKEN = 'forge-token-for-the-flow-test';
const PR_URL = 'https://forge.invalid/acme/app/pull/7';

let stack: TestStack;
const claudeTurns: anthropic.Turn[] = [];
const codexTurns: openai.Turn[] = [];
let claudeEndpoint: anthropic.ScriptedAnthropic;
let codexEndpoint: openai.ScriptedOpenAI;
let projectDir: string;
let remote: string;
let forge: FakeForge;
let tag: string;
/** The approved flow run of the first test, which the dashboard test shows. */
let approved: FlowRunView | undefined;

beforeAll(async () => {
  stack = await TestStack.create();
  claudeEndpoint = await anthropic.startScriptedAnthropic(claudeTurns);
  codexEndpoint = await openai.startScriptedOpenAI(codexTurns);
  // The project, and a bare repository standing in for its forge remote.
  projectDir = await fs.mkdtemp(path.join(stack.root, 'flow-project-'));
  await initGitProject(projectDir, { 'README.md': '# app\n' });
  remote = await bareRemote(stack.root, projectDir);

  const scratch = await fs.mkdtemp(path.join(stack.root, 'flow-scratch-'));
  const profiles = await fs.mkdtemp(path.join(scratch, 'profiles-'));
  const homes = { claude: path.join(scratch, 'claude-home'), codex: path.join(scratch, 'codex-home') };
  await fs.mkdir(homes.claude);
  await fs.mkdir(path.join(homes.codex, 'codex'), { recursive: true });
  await ownedByExecutor(homes.claude);
  await ownedByExecutor(homes.codex);
  const claudeEnv = { ANTHROPIC_BASE_URL: claudeEndpoint.url, ANTHROPIC_API_KEY: 'test-key', CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1', HOME: homes.claude };
  const codexEnv = { OPENAI_API_KEY: 'test-key', HOME: homes.codex, CODEX_HOME: path.join(homes.codex, 'codex') };
  const passthrough = (env: Record<string, string>): string[] => Object.keys(env).filter((name) => name !== 'HOME');
  await fs.writeFile(
    path.join(profiles, 'flow-claude.json'),
    JSON.stringify({ type: 'claude-code', command: [bin('claude')], config: { permission_mode: 'acceptEdits', model: 'claude-sonnet-4-5', allowed_tools: ['Read', 'Edit', 'Write', 'Bash(echo:*)', 'Bash(printenv:*)'], env_passthrough: passthrough(claudeEnv) } }),
  );
  // The reviewer's profile is read-only: codex's own sandbox, besides the flow's policy.
  await fs.writeFile(
    path.join(profiles, 'flow-codex.json'),
    JSON.stringify({
      type: 'codex',
      command: [bin('codex')],
      config: {
        model: 'gpt-5',
        sandbox: 'read-only',
        provider: { name: 'local', base_url: `${codexEndpoint.url}/v1`, wire_api: 'responses', env_key: 'OPENAI_API_KEY', request_max_retries: 0, stream_max_retries: 0 },
        env_passthrough: passthrough(codexEnv),
      },
    }),
  );
  tag = uniqueTag('flow');
  // Both runners serve the one project: the reviewer reads the builder's branch there.
  await stack.startRunner({ profile: 'flow-claude', tags: [tag], projectDir, extraArgs: ['--profiles-dir', profiles], env: { ...claudeEnv, AO_FORGE_TOKEN: FORGE_TOKEN } });
  await stack.startRunner({ profile: 'flow-codex', tags: [tag], projectDir, extraArgs: ['--profiles-dir', profiles], env: codexEnv });

  // The forge command's stand-in: records its argv and the token it was given, prints a URL.
  forge = await fakeForge(scratch, { url: PR_URL });
  const flow = {
    description: 'the test flow',
    builder: { agent: 'coder' },
    reviewer: { agent: 'codex-reviewer', policy: { shell_deny: ['git push', 'git commit', 'rm'] } },
    max_rounds: 3,
    pull_request: { remote: 'origin', command: [...forge.program, 'pr', 'create', '--head', '{branch}', '--title', '{title}', '--body', '{body}'] },
  };
  const put = await stack.api('PUT', '/flows/test-build-review', { body: flow });
  expect(put.status, JSON.stringify(put.body)).toBe(201);
});
afterAll(async () => {
  await stack?.stop();
  await claudeEndpoint?.close();
  await codexEndpoint?.close();
});

const review = (verdict: 'approve' | 'request_changes', comments: string[]): openai.Turn => openai.reply(JSON.stringify({ verdict, comments }));
const startFlow = (prompt: string, wait: boolean) =>
  stack.api<FlowRunView & { id: string }>('POST', `/flows/test-build-review/runs${wait ? '?wait=true' : ''}`, { body: { prompt, additional_demands: { tags: [tag] } } });

describe('the build-review flow on the real CLIs', () => {
  it('builds, takes one change the reviewer asks for, is approved, and opens a pull request', async () => {
    // A prompt with shell syntax: it reaches the forge command as one argv element, never through a shell.
    const prompt = 'Add greeting.txt saying hello $(touch pwned)';
    claudeTurns.push(
      anthropic.callTool('Bash', { command: 'echo hello > greeting.txt' }),
      anthropic.reply('I added greeting.txt.'),
      anthropic.callTool('Bash', { command: 'echo "hello, world" > greeting.txt' }),
      anthropic.reply('It now says hello, world.'),
    );
    codexTurns.push(review('request_changes', ['greeting.txt should say "hello, world"']), review('approve', []));
    const { status, body: flow } = await startFlow(prompt, true);
    expect(status, JSON.stringify(flow)).toBe(200);
    expect(flow.status, JSON.stringify(flow.error)).toBe('completed');
    expect(flow.verdict).toBe('approve');
    expect(flow.rounds).toBe(2);
    expect(flow.steps.map((step) => [step.role, step.round, step.status])).toEqual([
      ['builder', 1, 'completed'],
      ['reviewer', 1, 'completed'],
      ['builder', 2, 'completed'],
      ['reviewer', 2, 'completed'],
    ]);
    expect(flow.steps[1]!.review).toEqual({ verdict: 'request_changes', comments: ['greeting.txt should say "hello, world"'] });
    expect(flow.steps[3]!.review).toEqual({ verdict: 'approve', comments: [] });

    // The final branch is the second builder run's, and holds the change the reviewer asked for.
    const [builder1, , builder2] = flow.steps;
    expect(flow.branch).toBe(`ao/${builder2!.run_id}`);
    expect(await git(projectDir, ['show', `${flow.branch}:greeting.txt`])).toBe('hello, world\n');
    expect(await git(projectDir, ['show', `ao/${builder1!.run_id}:greeting.txt`])).toBe('hello\n');
    // The diff is the whole change since the first round began: one new file of one line.
    expect(flow.diff).toMatchObject({ files_changed: 1, added: 1, removed: 0, files: [{ path: 'greeting.txt', added: 1, removed: 0 }] });

    // The builder's second run resumed its session with the reviewer's comments as the prompt.
    const second = (await stack.api<RunView>('GET', `/runs/${builder2!.run_id}`)).body;
    const first = (await stack.api<RunView>('GET', `/runs/${builder1!.run_id}`)).body;
    expect(second.executor_session_id).toBe(first.executor_session_id);
    expect(JSON.stringify(claudeEndpoint.mainRequests.at(-2)!.body)).toContain('greeting.txt should say');
    // The reviewer read the builder's branch, was asked for its verdict through codex's output schema, under the flow's policy.
    const reviewer1 = (await stack.api<RunView>('GET', `/runs/${flow.steps[1]!.run_id}`)).body;
    expect(reviewer1.policy).toMatchObject({ shell_deny: ['git push', 'git commit', 'rm'] });
    expect(reviewer1.workspace?.base_commit).toBe(first.workspace?.head_commit);
    const reviewRequest = codexEndpoint.mainRequests[0]!;
    expect(JSON.stringify(reviewRequest.body)).toContain(`branch ao/${builder1!.run_id}`);
    expect((reviewRequest.body as { text?: { format?: { type?: string } } }).text?.format?.type).toBe('json_schema');

    // Cost per step and in total: Claude reports its own, Codex's is priced by the table (gpt-5).
    const costs = flow.steps.map((step) => step.cost_usd);
    expect(costs.every((cost) => typeof cost === 'number' && cost > 0)).toBe(true);
    expect(flow.cost_usd).toBeCloseTo(costs.reduce((sum, cost) => sum! + cost!, 0)!, 8);

    // The branch was pushed to the remote, and the forge command got the branch, title and body as argv, and the token.
    expect(await remoteHead(remote, flow.branch!)).toBe(flow.head_commit);
    expect(flow.pull_request).toMatchObject({ url: PR_URL, remote: 'origin', branch: flow.branch });
    const calls = await forge.calls();
    expect(calls).toHaveLength(1);
    expect(calls[0]!.argv.slice(0, 6)).toEqual(['pr', 'create', '--head', flow.branch, '--title', prompt]);
    expect(calls[0]!.argv[7]).toContain('approved by codex-reviewer in round 2 of 3');
    expect(calls[0]!.gh_token).toBe(FORGE_TOKEN);
    await expect(fs.stat(path.join(projectDir, 'pwned'))).rejects.toThrow();

    // Each step is a child of the flow's workflow.
    const { body: listed } = await stack.api<{ flow_runs: Array<{ id: string; flow?: string }> }>('GET', '/flow-runs?flow=test-build-review');
    await eventually(async () => {
      const { body } = await stack.api<{ flow_runs: Array<{ id: string; status: string }> }>('GET', '/flow-runs?flow=test-build-review');
      expect(body.flow_runs.find((row) => row.id === flow.id)?.status).toBe('completed');
    });
    expect(listed.flow_runs.some((row) => row.id === flow.id)).toBe(true);
    const description = await stack.client.workflow.getHandle(`run-${builder1!.run_id}`).describe();
    expect(description.parentExecution?.workflowId).toBe(flow.workflow_id);
    // Its history replays against the workflow code, as the control worker runs it (recorded releases: test/replay.test.ts).
    const history = await stack.client.workflow.getHandle(flow.workflow_id).fetchHistory();
    await Worker.runReplayHistory({ workflowBundle: { codePath: inject('workflowBundle') }, sinks: replaySinks() }, history, flow.workflow_id);
    approved = flow;
  });

  it('shows the flow, its runs, rounds and steps in the dashboard, with links to each step’s run', async () => {
    expect(approved, 'the flow test above ran').toBeDefined();
    const flow = approved!;
    const browser = await launchBrowser();
    try {
      const page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
      const errors = collectPageErrors(page);
      await page.goto(`${stack.apiUrl}/ui/flows#token=${stack.token}`);
      const definition = page.locator('[data-testid=flow-row][data-flow=test-build-review]');
      await definition.waitFor();
      expect(await definition.locator('[data-testid=flow-builder]').innerText()).toBe('coder');
      expect(await definition.locator('[data-testid=flow-reviewer]').innerText()).toBe('codex-reviewer');
      const row = page.locator(`[data-testid=flow-run-row][data-flow-run="${flow.id}"]`);
      await row.locator('[data-status=completed]').waitFor();
      await screenshot(page, 'flows-page');
      await row.locator('a').click();
      await page.waitForURL(`**/ui/flow-runs/${flow.id}`);
      await page.locator('[data-testid=flow-run-status][data-status=completed]').waitFor();
      expect(await page.locator('[data-testid=flow-run-verdict]').innerText()).toBe('approve');
      expect(await page.locator('[data-testid=flow-run-rounds]').innerText()).toBe('2 of 3');
      expect(await page.locator('[data-testid=flow-run-branch]').innerText()).toBe(flow.branch);
      expect(await page.locator('[data-testid=flow-run-pr]').innerText()).toBe(PR_URL);
      expect(await page.locator('[data-testid=flow-round]').count()).toBe(2);
      const reviews = page.locator('[data-testid=flow-round][data-round="1"] [data-testid=flow-step][data-role=reviewer] [data-testid=flow-step-review]');
      expect(await reviews.innerText()).toContain('request changes');
      expect(await reviews.innerText()).toContain('greeting.txt should say');
      await screenshot(page, 'flow-run-page');
      const builder2 = flow.steps[2]!;
      await page.locator(`[data-testid=flow-step][data-run="${builder2.run_id}"] [data-testid=flow-step-link]`).click();
      await page.waitForURL(`**/ui/runs/${builder2.run_id}`);
      await page.locator('[data-testid=run-status][data-status=completed]').waitFor();
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
    }
  });

  it('ends with the last verdict and no pull request when the rounds are used up', async () => {
    const { body: definition } = await stack.api<Record<string, unknown>>('GET', '/flows/test-build-review');
    const { name: _name, ...rest } = definition;
    expect((await stack.api('PUT', '/flows/test-one-round', { body: { ...rest, max_rounds: 1 } })).status).toBe(201);
    // Hostile: the builder looks for the forge token, which its runner holds; its environment has none of it.
    claudeTurns.push(anthropic.callTool('Bash', { command: 'printenv AO_RUN_ID AO_FORGE_TOKEN GH_TOKEN GITHUB_TOKEN > notes.txt' }), anthropic.reply('Drafted.'));
    codexTurns.push(review('request_changes', ['write more']));
    const { body: flow } = await stack.api<FlowRunView>('POST', '/flows/test-one-round/runs?wait=true', { body: { prompt: 'Write notes', additional_demands: { tags: [tag] } } });
    expect(flow.status, JSON.stringify(flow.error)).toBe('completed');
    expect(flow).toMatchObject({ verdict: 'request_changes', comments: ['write more'], rounds: 1 });
    expect(flow.steps).toHaveLength(2);
    expect(flow.pull_request).toBeUndefined();
    expect(flow.history.at(-1)?.reason).toBe('no approval after 1 round(s): the last verdict was request_changes');
    expect(await remoteHead(remote, flow.branch!)).toBeUndefined();
    // printenv ran (the run's own id is there) and found none of the token's names.
    expect(await git(projectDir, ['show', `${flow.branch}:notes.txt`])).toBe(`${flow.steps[0]!.run_id}\n`);
  });

  it('fails, keeping its state, when the reviewer answers no verdict', async () => {
    claudeTurns.push(anthropic.callTool('Bash', { command: 'echo v1 > version.txt' }), anthropic.reply('Done.'));
    codexTurns.push(openai.reply('Looks fine to me.'));
    const { body: flow } = await startFlow('Add version.txt', true);
    expect(flow.status).toBe('failed');
    expect(flow.error).toMatch(/^the reviewer's run \S+ failed: the final answer is not JSON: Looks fine to me\./);
    expect(flow.steps.map((step) => [step.role, step.status])).toEqual([['builder', 'completed'], ['reviewer', 'failed']]);
    expect(flow.branch).toBe(`ao/${flow.steps[0]!.run_id}`);
    // Read again once closed: the state comes from the workflow's failure.
    expect((await stack.api<FlowRunView>('GET', `/flow-runs/${flow.id}`)).body).toMatchObject({ status: 'failed', error: flow.error });
  });

  it('stops the step it runs when the flow run is stopped', async () => {
    const held = anthropic.gate();
    claudeTurns.push({ ...anthropic.reply('never sent'), until: held.promise });
    const before = claudeEndpoint.mainRequests.length;
    const { status, body: started } = await startFlow('Think for a long time', false);
    expect(status).toBe(201);
    await claudeEndpoint.waitForMainRequest(before + 1);
    const running = await eventually(async () => {
      const { body } = await stack.api<FlowRunView>('GET', `/flow-runs/${started.id}`);
      expect(body.steps[0]?.status).toBe('running');
      return body;
    });
    await stack.waitForRun(running.steps[0]!.run_id, (view) => view.status === 'running');
    const stop = await stack.api('POST', `/flow-runs/${started.id}/stop`, { body: { reason: 'enough' } });
    expect(stop.status, JSON.stringify(stop.body)).toBe(202);
    const again = await stack.api<{ error: string }>('POST', `/flow-runs/${started.id}/stop`, { body: {} });
    expect(again.status).toBe(409);
    const step = await stack.waitForRun(running.steps[0]!.run_id);
    held.release();
    expect(step.status).toBe('stopped');
    const ended = await eventually(async () => {
      const { body } = await stack.api<FlowRunView>('GET', `/flow-runs/${started.id}`);
      expect(body.status).toBe('stopped');
      return body;
    });
    expect(ended.steps).toHaveLength(1);
    expect(ended.history.find((entry) => entry.status === 'stopping')).toMatchObject({ reason: 'enough', by: 'admin' });
  });
});

describe('flow definitions through the API', () => {
  it('lists the shipped build-review flow, and creates, replaces and deletes one', async () => {
    const { body: listing } = await stack.api<{ flows: Array<{ name: string; builder?: { agent: string }; reviewer?: { agent: string } }> }>('GET', '/flows');
    expect(listing.flows.find((flow) => flow.name === 'build-review')).toMatchObject({ builder: { agent: 'coder' }, reviewer: { agent: 'codex-reviewer' } });
    const name = uniqueTag('flow-def');
    const definition = { builder: { agent: 'coder' }, reviewer: { agent: 'gemini-reviewer' } };
    const created = await stack.api('PUT', `/flows/${name}`, { body: definition });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name, max_rounds: 3 });
    const replaced = await stack.api('PUT', `/flows/${name}`, { body: { ...definition, max_rounds: 1 } });
    expect(replaced.status).toBe(200);
    expect((await stack.api('GET', `/flows/${name}`)).body).toMatchObject({ max_rounds: 1, reviewer: { agent: 'gemini-reviewer' } });
    expect(JSON.parse(await fs.readFile(path.join(stack.configDir, 'flows', `${name}.json`), 'utf8'))).toMatchObject({ name, max_rounds: 1 });
    expect((await stack.api('DELETE', `/flows/${name}`)).status).toBe(204);
    expect((await stack.api('GET', `/flows/${name}`)).status).toBe(404);
  });

  it('refuses bad definitions and unknown names with a 4xx that says why', async () => {
    // A reviewer that cannot answer with a verdict.
    const noSchema = await stack.api<{ error: string; details: { problems: string[] } }>('PUT', '/flows/bad-reviewer', { body: { builder: { agent: 'coder' }, reviewer: { agent: 'codex-coder' } } });
    expect(noSchema.status).toBe(422);
    expect(noSchema.body.details.problems.join()).toMatch(/reviewer\.agent: "codex-coder" needs an output_schema/);
    const missing = await stack.api<{ details: { problems: string[] } }>('PUT', '/flows/bad-agent', { body: { builder: { agent: 'nobody' }, reviewer: { agent: 'codex-reviewer' } } });
    expect(missing.status).toBe(422);
    expect(missing.body.details.problems.join()).toMatch(/builder\.agent: agent "nobody" does not exist/);
    // Unknown fields, a path for a name, a shell string for the forge command, rounds out of range.
    expect((await stack.api('PUT', '/flows/x', { body: { builder: { agent: 'coder' }, reviewer: { agent: 'codex-reviewer' }, extra: 1 } })).status).toBe(400);
    expect((await stack.api('PUT', `/flows/${encodeURIComponent('../agents/coder')}`, { body: { builder: { agent: 'coder' }, reviewer: { agent: 'codex-reviewer' } } })).status).toBe(400);
    expect((await stack.api('PUT', '/flows/x', { body: { builder: { agent: 'coder' }, reviewer: { agent: 'codex-reviewer' }, pull_request: { command: 'gh pr create' } } })).status).toBe(400);
    expect((await stack.api('PUT', '/flows/x', { body: { builder: { agent: 'coder' }, reviewer: { agent: 'codex-reviewer' }, pull_request: { remote: '--upload-pack=x', command: ['gh'] } } })).status).toBe(400);
    expect((await stack.api('PUT', '/flows/x', { body: { builder: { agent: 'coder' }, reviewer: { agent: 'codex-reviewer' }, max_rounds: 0 } })).status).toBe(400);
    await expect(fs.stat(path.join(stack.configDir, 'flows', 'x.json'))).rejects.toThrow();
    // Runs: an unknown flow, a bad body, an unknown flow run.
    expect((await stack.api('POST', '/flows/no-such-flow/runs', { body: { prompt: 'x' } })).status).toBe(404);
    expect((await stack.api('POST', '/flows/build-review/runs', { body: { prompt: '' } })).status).toBe(400);
    expect((await stack.api('POST', '/flows/build-review/runs', { body: { prompt: 'x', base_ref: '--force' } })).status).toBe(400);
    expect((await stack.api('GET', '/flow-runs/00000000-0000-4000-8000-000000000000')).status).toBe(404);
    expect((await stack.api('POST', '/flow-runs/00000000-0000-4000-8000-000000000000/stop', { body: {} })).status).toBe(404);
    // A run's id is not a flow run's.
    expect((await stack.api('GET', '/flow-runs/not/a-run')).status).toBe(404);
  });

  it('lets only admins change flows, and operators start them', async () => {
    const viewer = await stack.api<{ token: string }>('POST', '/tokens', { body: { name: uniqueTag('flow-viewer'), role: 'viewer' } });
    expect(viewer.status, JSON.stringify(viewer.body)).toBe(201);
    const as = { token: viewer.body.token };
    expect((await stack.api('GET', '/flows', as)).status).toBe(200);
    expect((await stack.api('PUT', '/flows/by-viewer', { ...as, body: { builder: { agent: 'coder' }, reviewer: { agent: 'codex-reviewer' } } })).status).toBe(403);
    expect((await stack.api('DELETE', '/flows/build-review', as)).status).toBe(403);
    expect((await stack.api('POST', '/flows/build-review/runs', { ...as, body: { prompt: 'x' } })).status).toBe(403);
  });
});
