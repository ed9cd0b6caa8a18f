import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { strictestBudget } from '../core/contract/budget.js';
import { ExecutorProfile } from '../core/contract/executor-profile.js';
import type { RunEvent } from '../core/contract/events.js';
import type { RunView } from '../core/contract/http.js';
import { repoRoot } from '../core/config/paths.js';
import * as anthropic from './support/scripted-anthropic.js';
import * as openai from './support/scripted-openai.js';
import { gate } from './support/scripted-endpoint.js';
import { ownedByExecutor } from './support/executor-user.js';
import { TestStack, eventually, uniqueTag } from './support/stack.js';

/**
 * Budgets: an agent, a profile and a run request can cap a run's cost and model requests; the
 * strictest limit wins, and the runner stops a run whose usage goes over it (BUDGET_EXCEEDED).
 */

const bin = (name: string): string => path.join(repoRoot, 'node_modules', '.bin', name);
let stack: TestStack;
const closers: Array<() => Promise<void>> = [];
/** Held model turns: released after each test so the endpoints close. */
const held = gate();

beforeAll(async () => {
  stack = await TestStack.create();
});
afterEach(async () => {
  held.release();
  await Promise.all(closers.splice(0).map((close) => close()));
});
afterAll(async () => {
  await stack?.stop();
});

/** A runner with a profile of its own (`budget` at its top level when given), its tag, and its project. */
async function runner(type: 'claude-code' | 'codex', config: Record<string, unknown>, env: NodeJS.ProcessEnv, budget?: Record<string, unknown>) {
  const scratch = await fs.mkdtemp(path.join(stack.root, `budget-${type}-`));
  const home = path.join(scratch, 'home');
  await fs.mkdir(path.join(home, 'codex-home'), { recursive: true });
  await ownedByExecutor(home);
  const profiles = path.join(scratch, 'profiles');
  await fs.mkdir(profiles);
  const fullEnv = { ...env, HOME: home, ...(type === 'codex' ? { CODEX_HOME: path.join(home, 'codex-home') } : {}) };
  const profile = { type, command: [bin(type === 'claude-code' ? 'claude' : 'codex')], ...(budget ? { budget } : {}), config: { ...config, env_passthrough: Object.keys(fullEnv).filter((name) => name !== 'HOME') } };
  await fs.writeFile(path.join(profiles, 'budgeted.json'), JSON.stringify(profile));
  const tag = uniqueTag(`budget-${type}`);
  const started = await stack.startRunner({ profile: 'budgeted', tags: [tag], extraArgs: ['--profiles-dir', profiles], env: fullEnv });
  return { tag, projectDir: started.projectDir };
}

async function claudeRunner(turns: anthropic.Turn[]) {
  const endpoint = await anthropic.startScriptedAnthropic(turns);
  closers.push(() => endpoint.close());
  const env = { ANTHROPIC_BASE_URL: endpoint.url, ANTHROPIC_API_KEY: 'test-key', CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1' };
  return { endpoint, ...(await runner('claude-code', { permission_mode: 'acceptEdits', model: 'claude-sonnet-4-5', allowed_tools: ['Write'] }, env)) };
}

const post = async (body: Record<string, unknown>): Promise<RunView> => (await stack.api<RunView>('POST', '/runs?wait=true', { body })).body;
const events = (id: string): Promise<RunEvent[]> =>
  eventually(async () => {
    const { body } = await stack.api<{ events: RunEvent[] }>('GET', `/runs/${id}/events`);
    if (!body.events.some((event) => event.kind === 'session_ended')) throw new Error('no session_ended yet');
    return body.events;
  });
type Result = { cost_usd?: number; usage: { turns: number; input_tokens: number; cost_usd?: number } };

describe('a Claude Code run with max_cost_usd', () => {
  it('is stopped when its second model request takes it over the budget, and fails with BUDGET_EXCEEDED', async () => {
    const turns: anthropic.Turn[] = [];
    const setup = await claudeRunner(turns);
    // 100 input tokens cost 0.0003 $ at claude-sonnet-4-5's 3 $ per million; the second request's 10,000 cost 0.03 $.
    turns.push(
      anthropic.callTool('Write', { file_path: path.join(setup.projectDir, 'one.txt'), content: 'one\n' }, { usage: { input_tokens: 100, output_tokens: 10 } }),
      anthropic.callTool('Write', { file_path: path.join(setup.projectDir, 'two.txt'), content: 'two\n' }, { usage: { input_tokens: 10_000, output_tokens: 10 } }),
      { ...anthropic.reply('never sent'), until: held.promise },
    );
    const run = await post({ agent: 'coder', prompt: 'write two files', additional_demands: { tags: [setup.tag] }, budget: { max_cost_usd: 0.01 } });
    expect(run.status).toBe('failed');
    expect(run.error?.type).toBe('BUDGET_EXCEEDED');
    expect(run.error?.message).toContain("over its budget's max_cost_usd of 0.01 USD");
    // The reason names the amount: both requests' input, priced.
    expect(run.error?.message).toMatch(/the run cost 0\.030\d* USD/);
    // What the run did before it was stopped stays with it: its usage so far.
    const result = run.result as Result;
    expect(result.usage).toMatchObject({ turns: 2, input_tokens: 10_100 });
    expect(result.cost_usd).toBeGreaterThan(0.01);
    const seen = await events(run.id);
    expect(seen.find((event) => event.kind === 'alert' && event.data.kind === 'budget_exceeded')?.data.message).toContain('max_cost_usd');
    // Its processes were ended, as a stop ends them.
    expect(seen.find((event) => event.kind === 'session_ended')?.data.outcome).toBe('stopped');
    // Each request's usage is counted once, however many lines the CLI prints for it.
    const calls = seen.filter((event) => event.kind === 'usage_tick' && event.data.scope === 'call');
    expect(calls.map((event) => (event.data.usage as { input_tokens: number }).input_tokens)).toEqual([100, 10_000]);
  });

  it('completes under its budget, with its cost', async () => {
    const turns: anthropic.Turn[] = [];
    const setup = await claudeRunner(turns);
    turns.push(anthropic.callTool('Write', { file_path: path.join(setup.projectDir, 'ok.txt'), content: 'ok\n' }), anthropic.reply('Done.'));
    const run = await post({ agent: 'coder', prompt: 'write a file', additional_demands: { tags: [setup.tag] }, budget: { max_cost_usd: 1, max_turns: 5 } });
    expect(run.status, JSON.stringify(run.error)).toBe('completed');
    expect((run.result as Result).usage.turns).toBe(2);
    expect((run.result as Result).cost_usd).toBeGreaterThan(0);
    expect(await fs.readFile(path.join(setup.projectDir, 'ok.txt'), 'utf8')).toBe('ok\n');
  });
});

describe('a Codex run whose profile caps max_turns', () => {
  it('is stopped at the request past the strictest limit (the profile’s 1 over the agent’s 4)', async () => {
    const turns: openai.Turn[] = [];
    const endpoint = await openai.startScriptedOpenAI(turns);
    closers.push(() => endpoint.close());
    const provider = { name: 'local', base_url: `${endpoint.url}/v1`, wire_api: 'responses', env_key: 'OPENAI_API_KEY', request_max_retries: 0, stream_max_retries: 0 };
    const setup = await runner('codex', { model: 'gpt-5.5', sandbox: 'workspace-write', provider }, { OPENAI_API_KEY: 'test-key' }, { max_turns: 1 });
    const agent = uniqueTag('budget-agent');
    await fs.mkdir(path.join(stack.configDir, 'agents', agent));
    await fs.writeFile(path.join(stack.configDir, 'agents', agent, 'agent.json'), JSON.stringify({ name: agent, demands: { executor_type: 'codex', tags: [] }, budget: { max_turns: 4 } }));
    turns.push(openai.runCommand('echo one > one.txt'), openai.runCommand('echo two > two.txt'), { ...openai.reply('never sent'), until: held.promise });
    const run = await post({ agent, prompt: 'run two commands', additional_demands: { tags: [setup.tag] } });
    expect(run.status).toBe('failed');
    expect(run.error?.type).toBe('BUDGET_EXCEEDED');
    expect(run.error?.message).toContain('the run made 2 model requests, over its budget\'s max_turns of 1');
    expect((run.result as Result).usage.turns).toBe(2);
    expect((await events(run.id)).find((event) => event.kind === 'session_ended')?.data.outcome).toBe('stopped');
  });
});

describe('budget settings', () => {
  it('merge to the strictest limit of each kind', () => {
    expect(strictestBudget({ max_cost_usd: 2 }, undefined, { max_cost_usd: 0.5, max_turns: 9 }, { max_turns: 3 })).toEqual({ max_cost_usd: 0.5, max_turns: 3 });
    expect(strictestBudget(undefined, {})).toBeUndefined();
  });

  it('refuse bad values on a run request with a 400 naming the field', async () => {
    for (const budget of [{ max_cost_usd: -1 }, { max_cost_usd: 0 }, { max_turns: 1.5 }, { max_turns: 0 }, { max_cost_usd: '1' }, { max_tokens: 5 }, 'cheap']) {
      const { status, body } = await stack.api<{ error: string; details?: unknown }>('POST', '/runs', { body: { agent: 'coder', prompt: 'x', budget } });
      expect(status, JSON.stringify(budget)).toBe(400);
      expect(JSON.stringify(body)).toContain('budget');
    }
  });

  it('refuse bad values on an agent and in a profile', async () => {
    const name = uniqueTag('bad-budget');
    const { status, body } = await stack.api<{ error: string }>('POST', '/agents', { body: { name, budget: { max_turns: -2 } } });
    expect(status).toBe(400);
    expect(JSON.stringify(body)).toContain('budget');
    const profile = ExecutorProfile.safeParse({ type: 'codex', budget: { max_cost_usd: 5, max_dollars: 1 }, config: {} });
    expect(profile.success).toBe(false);
    expect(JSON.stringify(profile.error?.issues)).toContain('max_dollars');
  });
});
