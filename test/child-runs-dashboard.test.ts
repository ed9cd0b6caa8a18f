import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RunView } from '../core/contract/http.js';
import { isFinalRunStatus } from '../core/contract/run-status.js';
import { UI_TIMEOUT_MS, browserPerTest, screenshot } from './support/browser.js';
import { runGate } from './support/gates.js';
import { gitProject } from './support/git-project.js';
import { TestStack, uniqueTag } from './support/stack.js';

/** A run's page in a real Chromium: its child runs with their states, each linked, and the child's link back to its parent. */

let stack: TestStack;
let tag: string;
const ui = browserPerTest();
const started: string[] = [];

beforeAll(async () => {
  stack = await TestStack.create();
  tag = uniqueTag('children-ui');
  await stack.startRunner({ tags: [tag], capacity: 4, projectDir: await gitProject(await fs.mkdtemp(path.join(stack.root, 'project-'))) });
});
afterEach(async () => {
  for (const id of started.splice(0)) {
    const { body } = await stack.api<RunView>('GET', `/runs/${id}`);
    if (!isFinalRunStatus(body.status)) await stack.api('POST', `/runs/${id}/stop?wait=true`, { body: { graceful: false } });
  }
});
afterAll(async () => {
  await stack?.stop();
});

describe('the run page of a parent run', () => {
  it('lists its children with their states and links parent and child both ways', async () => {
    const held = await runGate(stack.root);
    const parent = await stack.postRun({ agent: 'echo', parameters: held.parameters, additional_demands: { tags: [tag] } });
    started.push(parent);
    const child = await stack.postRun({ agent: 'echo', additional_demands: { tags: [tag] }, parent_run_id: parent, detached: true });
    expect((await stack.waitForRun(child)).status).toBe('completed');

    const { page } = ui;
    await page.goto(`${stack.apiUrl}/ui/runs/${parent}#token=${stack.token}`);
    const entry = page.locator(`[data-testid=run-child-${child}]`);
    await entry.waitFor({ timeout: UI_TIMEOUT_MS });
    expect(await entry.innerText()).toContain('detached');
    await entry.locator('[data-status=completed]').waitFor({ timeout: UI_TIMEOUT_MS });
    await screenshot(page, 'run-children');

    await entry.locator('a').click();
    const back = page.locator('[data-testid=run-parent] a');
    await back.waitFor({ timeout: UI_TIMEOUT_MS });
    expect(await back.innerText()).toBe(parent);
    await back.click();
    await page.locator('[data-testid=run-children]').waitFor({ timeout: UI_TIMEOUT_MS });
    expect(page.url()).toContain(`/ui/runs/${parent}`);
    await held.open();
  });
});
