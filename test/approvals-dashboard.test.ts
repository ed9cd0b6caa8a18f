import fs from 'node:fs/promises';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { RunView } from '../core/contract/http.js';
import * as anthropic from './support/scripted-anthropic.js';
import { UI_TIMEOUT_MS, browserPerTest, screenshot } from './support/browser.js';
import { TestStack } from './support/stack.js';
import { startSupervisedClaude, supervisedConfig } from './support/supervised-claude.js';

/** The run page of a supervised run, in a real Chromium: its approval card shows the request and takes the decision. */

let stack: TestStack;
let endpoint: anthropic.ScriptedAnthropic;
let runner: { tag: string; projectDir: string };
const turns: anthropic.Turn[] = [];
const ui = browserPerTest();
let page: Page;

beforeAll(async () => {
  stack = await TestStack.create();
  let runners: Record<'ui', { tag: string; projectDir: string }>;
  ({ endpoint, runners } = await startSupervisedClaude(stack, turns, { ui: supervisedConfig() }));
  runner = runners.ui;
});
afterAll(async () => {
  await endpoint?.close();
  await stack?.stop();
});
beforeEach(() => {
  page = ui.page;
});

const card = () => page.locator('[data-testid=approval-card]');

describe('the run page of a supervised run', () => {
  it('shows the pending approval as a card, and an allow from it runs the tool', async () => {
    turns.push(anthropic.callTool('Bash', { command: 'touch from-the-dashboard.txt' }), anthropic.reply('Done.'));
    const id = await stack.postRun({ agent: 'coder', prompt: 'create the file', additional_demands: { tags: [runner.tag] } });
    await stack.waitForRun(id, (run) => run.status === 'waiting_for_approval');
    // The runs list names the runs waiting for a person before anything else; one leads to its page.
    await page.goto(`${stack.apiUrl}/ui/runs#token=${stack.token}`);
    await expect.poll(() => page.locator('[data-testid=waiting-count]').innerText(), { timeout: UI_TIMEOUT_MS }).toBe('1');
    await page.locator('[data-testid=waiting-run]').click();
    await page.waitForURL(`**/ui/runs/${id}`);
    await page.locator('[data-testid=run-status][data-status=waiting_for_approval]').waitFor();
    await expect.poll(() => card().locator('[data-testid=approval-tool]').innerText(), { timeout: UI_TIMEOUT_MS }).toBe('Bash');
    expect(await card().locator('[data-testid=approval-summary]').innerText()).toBe('touch from-the-dashboard.txt');
    expect(await card().locator('[data-testid=approval-rule]').innerText()).toBe('approval_required_tools: Bash');
    await screenshot(page, 'run-approval-card');

    await card().locator('[data-testid=approval-note]').fill('looks harmless');
    await card().locator('[data-testid=approval-allow]').click();
    await page.locator('[data-testid=run-status][data-status=completed]').waitFor();
    expect(await card().count(), 'no card once nothing is pending').toBe(0);
    await fs.access(path.join(runner.projectDir, 'from-the-dashboard.txt'));
    const run = (await stack.api<RunView>('GET', `/runs/${id}`)).body;
    expect(run.approvals?.[0]).toMatchObject({ status: 'allowed', decided_by: 'admin', note: 'looks harmless' });
  });

  it('sends a denial with its note', async () => {
    turns.push({ tools: [{ tool: 'Bash', input: { command: 'touch refused-in-ui.txt' }, id: 'toolu_ui_denied' }] }, anthropic.reply('Fine.'));
    const id = await stack.postRun({ agent: 'coder', prompt: 'create the file', additional_demands: { tags: [runner.tag] } });
    await stack.waitForRun(id, (run) => run.status === 'waiting_for_approval');
    await page.goto(`${stack.apiUrl}/ui/runs/${id}#token=${stack.token}`);
    await card().locator('[data-testid=approval-note]').fill('use the build script instead');
    await card().locator('[data-testid=approval-deny]').click();
    await page.locator('[data-testid=run-status][data-status=completed]').waitFor();
    await expect(fs.access(path.join(runner.projectDir, 'refused-in-ui.txt'))).rejects.toThrow();
    const told = endpoint.mainRequests.flatMap((request) => anthropic.blocksOf(request, 'tool_result')).filter((block) => block.tool_use_id === 'toolu_ui_denied');
    expect(JSON.stringify(told)).toContain('use the build script instead');
  });
});
