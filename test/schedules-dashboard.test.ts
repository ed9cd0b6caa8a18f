import type { Page } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ScheduleView } from '../core/contract/schedules.js';
import { UI_TIMEOUT_MS, browserPerTest, screenshot } from './support/browser.js';
import { TestStack, uniqueTag } from './support/stack.js';

/** The schedules page in a real Chromium: next and last runs with their outcomes, and its actions. */

let stack: TestStack;
let tag: string;
const ui = browserPerTest();
let page: Page;

beforeAll(async () => {
  stack = await TestStack.create();
  tag = uniqueTag('sched-ui');
  await stack.startRunner({ tags: [tag] });
});
afterAll(async () => {
  await stack?.stop();
});
beforeEach(() => {
  page = ui.page;
});

const row = (name: string) => page.locator(`[data-testid=schedule-row][data-schedule=${name}]`);
const schedule = async (name: string) => (await stack.api<ScheduleView>('GET', `/schedules/${name}`)).body;

describe('the schedules page', () => {
  it('shows the next run and the last runs with their outcomes, and pauses, unpauses, triggers and deletes', async () => {
    const created = await stack.api('POST', '/schedules', {
      body: { name: 'ui-nightly', timing: { cron: '0 3 * * *' }, agent: 'echo', prompt: 'nightly', additional_demands: { tags: [tag] } },
    });
    expect(created.status).toBe(201);
    await page.goto(`${stack.apiUrl}/ui/schedules#token=${stack.token}`);
    await row('ui-nightly').waitFor();
    expect(await row('ui-nightly').locator('[data-testid=schedule-next]').innerText()).not.toBe('—');
    expect(await row('ui-nightly').locator('[data-testid=schedule-runs]').innerText()).toContain('none yet');

    await row('ui-nightly').locator('[data-testid=schedule-trigger]').click();
    // The run it started shows with its outcome, and links to the run's page.
    const run = row('ui-nightly').locator('[data-testid=schedule-run]').first();
    await run.locator('[data-status=completed]').waitFor({ timeout: UI_TIMEOUT_MS });
    const runId = await run.getAttribute('data-run');
    expect(runId).toMatch(/^ui-nightly-\d{8}T\d{6}Z$/);
    await screenshot(page, 'schedules-page');

    await row('ui-nightly').locator('[data-testid=schedule-pause]').click();
    await page.locator('[data-testid=schedule-row][data-schedule=ui-nightly][data-paused=true]').waitFor();
    expect((await schedule('ui-nightly')).paused).toBe(true);
    await row('ui-nightly').locator('[data-testid=schedule-unpause]').click();
    await page.locator('[data-testid=schedule-row][data-schedule=ui-nightly][data-paused=false]').waitFor();
    expect((await schedule('ui-nightly')).paused).toBe(false);

    await run.locator('a').click();
    await page.waitForURL(`**/ui/runs/${runId}`);
    await page.locator('[data-testid=run-status][data-status=completed]').waitFor();
    expect(await page.locator('[data-testid=run-origin]').innerText()).toBe('schedule:ui-nightly');

    await page.goto(`${stack.apiUrl}/ui/schedules#token=${stack.token}`);
    await row('ui-nightly').locator('button.danger').click();
    await row('ui-nightly').locator('[data-testid=confirm]').click();
    await row('ui-nightly').waitFor({ state: 'detached' });
    expect((await stack.api('GET', '/schedules/ui-nightly')).status).toBe(404);
  });
});
