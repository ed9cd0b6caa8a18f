import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunView } from '../core/contract/http.js';
import type { UsageReport } from '../core/contract/usage-report.js';
import { repoRoot } from '../core/config/paths.js';
import { formatCost } from '../web/src/lib/format.js';
import * as anthropic from './support/scripted-anthropic.js';
import { browserPerTest, screenshot } from './support/browser.js';
import { ownedByExecutor } from './support/executor-user.js';
import { TestStack, eventually, uniqueTag } from './support/stack.js';

/**
 * Cost views: `GET /usage` adds up what runs cost and the tokens they used, by agent, profile and
 * day; the dashboard shows each run's cost and a Usage page. The runs are real Claude Code runs
 * against a scripted endpoint; one is stopped over its budget, and its cost so far counts too.
 */

let stack: TestStack;
const browser = browserPerTest();
let endpoint: anthropic.ScriptedAnthropic;
const turns: anthropic.Turn[] = [];
const PROFILE = 'usage-claude';
const other = uniqueTag('usage-agent');
const runs: RunView[] = [];

type Result = { cost_usd: number; usage: { input_tokens: number; output_tokens: number; cache_read_tokens: number; cache_write_tokens: number } };
const resultOf = (run: RunView): Result => run.result as Result;
const promptTokens = ({ usage }: Result): number => usage.input_tokens + usage.cache_read_tokens + usage.cache_write_tokens;

beforeAll(async () => {
  stack = await TestStack.create();
  endpoint = await anthropic.startScriptedAnthropic(turns);
  const scratch = await fs.mkdtemp(path.join(stack.root, 'usage-'));
  const home = path.join(scratch, 'home');
  await fs.mkdir(home);
  await ownedByExecutor(home);
  const env = { ANTHROPIC_BASE_URL: endpoint.url, ANTHROPIC_API_KEY: 'test-key', CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1' };
  const config = { permission_mode: 'acceptEdits', model: 'claude-sonnet-4-5', allowed_tools: ['Write'], env_passthrough: Object.keys(env) };
  await fs.writeFile(path.join(scratch, `${PROFILE}.json`), JSON.stringify({ type: 'claude-code', command: [path.join(repoRoot, 'node_modules', '.bin', 'claude')], config }));
  const tag = uniqueTag('usage');
  const runner = await stack.startRunner({ profile: PROFILE, tags: [tag], extraArgs: ['--profiles-dir', scratch], env: { ...env, HOME: home } });
  await fs.mkdir(path.join(stack.configDir, 'agents', other));
  await fs.writeFile(path.join(stack.configDir, 'agents', other, 'agent.json'), JSON.stringify({ name: other, demands: { executor_type: 'claude-code', tags: [] } }));

  const post = async (body: Record<string, unknown>): Promise<RunView> =>
    (await stack.api<RunView>('POST', '/runs?wait=true', { body: { prompt: 'work', additional_demands: { tags: [tag] }, ...body } })).body;
  turns.push(anthropic.callTool('Write', { file_path: path.join(runner.projectDir, 'a.txt'), content: 'a\n' }), anthropic.reply('Wrote it.'));
  runs.push(await post({ agent: 'coder' }));
  turns.push(anthropic.reply('Nothing to do.', { usage: { input_tokens: 1000, output_tokens: 10 } }));
  runs.push(await post({ agent: other }));
  // Over its budget at its first request (1,000 input tokens cost 0.003 $): stopped, failed, and its cost so far kept.
  turns.push(anthropic.callTool('Write', { file_path: path.join(runner.projectDir, 'b.txt'), content: 'b\n' }, { usage: { input_tokens: 1000, output_tokens: 10 } }), anthropic.reply('never reached'));
  runs.push(await post({ agent: 'coder', budget: { max_cost_usd: 0.001 } }));
});
afterAll(async () => {
  await endpoint?.close();
  await stack?.stop();
});

const usage = (query: string) =>
  // Search attributes reach visibility a moment after the run closed.
  eventually(async () => {
    const { status, body } = await stack.api<UsageReport>('GET', `/usage?${query}`);
    expect(status).toBe(200);
    expect(body.total.priced_runs).toBe(3);
    return body;
  });

describe('GET /usage', () => {
  it('adds up each agent’s runs, a run stopped over its budget included', async () => {
    expect(runs.map((run) => run.status)).toEqual(['completed', 'completed', 'failed']);
    expect(runs[2]!.error?.type).toBe('BUDGET_EXCEEDED');
    const [first, second, stopped] = runs.map(resultOf) as [Result, Result, Result];
    expect(stopped.cost_usd).toBeGreaterThan(0.001);
    const report = await usage('group_by=agent');
    expect(report.group_by).toBe('agent');
    const coder = report.groups.find((group) => group.key === 'coder')!;
    expect(coder).toMatchObject({ runs: 2, priced_runs: 2, input_tokens: promptTokens(first) + promptTokens(stopped), output_tokens: first.usage.output_tokens + stopped.usage.output_tokens });
    expect(coder.cost_usd).toBeCloseTo(first.cost_usd + stopped.cost_usd, 8);
    const alone = report.groups.find((group) => group.key === other)!;
    expect(alone).toMatchObject({ runs: 1, input_tokens: 1000, output_tokens: 10 });
    // The CLI prices claude-sonnet-4-5 at 3 $ in, 15 $ out per million tokens.
    expect(alone.cost_usd).toBeCloseTo(second.cost_usd, 8);
    expect(second.cost_usd).toBeCloseTo((1000 * 3 + 10 * 15) / 1e6, 8);
    expect(report.total.runs).toBe(3);
    expect(report.total.cost_usd).toBeCloseTo(first.cost_usd + second.cost_usd + stopped.cost_usd, 8);
    expect(report.truncated).toBe(false);
  });

  it('groups by profile and by day', async () => {
    const byProfile = await usage('group_by=profile');
    expect(byProfile.groups.map((group) => [group.key, group.runs])).toEqual([[PROFILE, 3]]);
    const today = new Date().toISOString().slice(0, 10);
    const byDay = await usage(`group_by=day&since=${today}&until=${today}`);
    expect(byDay.groups.map((group) => group.key)).toEqual([runs[0]!.created_at.slice(0, 10)]);
    expect(byDay.total.cost_usd).toBeCloseTo(byProfile.total.cost_usd, 8);
    const { body: before } = await stack.api<UsageReport>('GET', '/usage?group_by=day&until=2001-01-01');
    expect(before.groups).toEqual([]);
  });

  it('refuses a bad query with a 400 naming it', async () => {
    for (const query of ['group_by=week', 'since=2026-13-01', 'since=2026-02-02&until=2026-02-01', 'agent=..%2Fetc', 'cost=1', 'since=yesterday']) {
      const { status, body } = await stack.api<{ error: string }>('GET', `/usage?${query}`);
      expect(status, query).toBe(400);
      expect(body.error.length, query).toBeGreaterThan(0);
    }
  });
});

describe('the dashboard', () => {
  it('shows cost per run in the list and on the run page, and cost per agent, profile and day on the Usage page', async () => {
    const { page } = browser;
    const stopped = runs[2]!;
    const stoppedCost = formatCost(resultOf(stopped).cost_usd);
    await page.goto(`${stack.apiUrl}/ui/runs#token=${stack.token}`);
    await expect.poll(() => page.locator(`[data-testid=run-row][data-run-id="${stopped.id}"] [data-testid=run-row-cost]`).innerText()).toBe(stoppedCost);
    await page.goto(`${stack.apiUrl}/ui/runs/${stopped.id}#token=${stack.token}`);
    await expect.poll(() => page.getByTestId('run-cost').innerText()).toBe(stoppedCost);

    await page.goto(`${stack.apiUrl}/ui/usage#token=${stack.token}`);
    const report = await usage('group_by=agent');
    const coder = report.groups.find((group) => group.key === 'coder')!;
    await expect.poll(() => page.locator('[data-testid=usage-row][data-key=coder] [data-testid=usage-cost]').innerText()).toBe(formatCost(coder.cost_usd));
    expect(await page.locator('[data-testid=usage-row][data-key=coder] [data-testid=usage-runs]').innerText()).toBe('2');
    expect(await page.getByTestId('usage-total-cost').innerText()).toBe(formatCost(report.total.cost_usd));
    await screenshot(page, 'usage-by-agent');

    await page.getByTestId('usage-group-profile').click();
    await expect.poll(() => page.getByTestId('usage-table').getAttribute('data-group-by')).toBe('profile');
    expect(await page.locator(`[data-testid=usage-row][data-key=${PROFILE}] [data-testid=usage-runs]`).innerText()).toBe('3');
    // The grouping is in the address: a reload shows the same table.
    expect(page.url()).toContain('group_by=profile');
    await page.getByTestId('usage-group-day').click();
    await expect.poll(() => page.getByTestId('usage-table').getAttribute('data-group-by')).toBe('day');
    expect(await page.getByTestId('usage-row').count()).toBe(1);
  });
});
