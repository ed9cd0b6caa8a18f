import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { RunEvent } from '../core/contract/events.js';
import type { RunView } from '../core/contract/http.js';
import { isFinalRunStatus } from '../core/contract/run-status.js';
import { UI_TIMEOUT_MS, browserPerTest, screenshot } from './support/browser.js';
import { TestStack, eventually, uniqueTag } from './support/stack.js';

/** A running run's page in a real Chromium: the input box, pause and resume, interrupt disabled with its reason, stop now. */

let stack: TestStack;
let tag: string;
const ui = browserPerTest();
let page: Page;
const started: string[] = [];

beforeAll(async () => {
  stack = await TestStack.create();
  await stack.addScriptAgent({ name: 'ui-reader', script_file: 'ui-reader.sh', script_content: '#!/bin/sh\nread -r _ || true\nread -r line\necho "{\\"got\\": \\"$line\\"}"\n' });
  tag = uniqueTag('live-ui');
  await stack.startRunner({ profile: 'procedural', tags: [tag] });
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
beforeEach(() => {
  page = ui.page;
});

async function openRunning(): Promise<string> {
  const id = await stack.postRun({ agent: 'ui-reader', parameters: {}, additional_demands: { tags: [tag] } });
  started.push(id);
  await stack.waitForRun(id, (run) => run.status === 'running');
  await page.goto(`${stack.apiUrl}/ui/runs/${id}#token=${stack.token}`);
  await page.locator('[data-testid=run-status][data-status=running]').waitFor({ timeout: UI_TIMEOUT_MS });
  return id;
}

describe('the live controls of a running run', () => {
  it('pause and resume it, say why interrupt is not offered, and send input that shows in the timeline', async () => {
    const id = await openRunning();
    const controls = page.locator('[data-testid=live-controls]');
    expect(await controls.locator('[data-testid=interrupt-run]').isDisabled()).toBe(true);
    expect(await controls.locator('[data-testid=live-reasons]').innerText()).toContain('Interrupt: its executor has no turn to interrupt');

    await controls.locator('[data-testid=pause-run]').click();
    await page.locator('[data-testid=run-status][data-status=paused]').waitFor({ timeout: UI_TIMEOUT_MS });
    expect((await stack.api<RunView>('GET', `/runs/${id}`)).body.status).toBe('paused');
    await screenshot(page, 'run-paused');
    await controls.locator('[data-testid=resume-run]').click();
    await page.locator('[data-testid=run-status][data-status=running]').waitFor({ timeout: UI_TIMEOUT_MS });

    await controls.locator('[data-testid=input-text]').fill('typed in the dashboard');
    await controls.locator('[data-testid=send-input]').click();
    await page.locator('[data-testid=run-status][data-status=completed]').waitFor({ timeout: UI_TIMEOUT_MS });
    await expect.poll(() => page.getByText('admin: typed in the dashboard').count(), { timeout: UI_TIMEOUT_MS }).toBeGreaterThan(0);
    const run = (await stack.api<RunView>('GET', `/runs/${id}`)).body;
    expect((run.result as { stdout: string }).stdout).toContain('{"got": "typed in the dashboard"}');
    expect(await page.locator('[data-testid=live-controls]').count(), 'no controls once the run has ended').toBe(0);
  });

  it('stops it now, without the grace period', async () => {
    const id = await openRunning();
    await page.locator('[data-testid=stop-run-now]').click();
    await page.locator('[data-testid=run-status][data-status=stopped]').waitFor({ timeout: UI_TIMEOUT_MS });
    const ended = await eventually(async () => {
      const { body } = await stack.api<{ events: RunEvent[] }>('GET', `/runs/${id}/events`);
      const event = body.events.find((candidate) => candidate.kind === 'session_ended');
      if (!event) throw new Error('no session_ended yet');
      return event;
    });
    expect(ended.data).toMatchObject({ outcome: 'stopped', signal: 'SIGKILL' });
  });
});
