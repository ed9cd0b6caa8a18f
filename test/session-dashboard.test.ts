import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { RunView } from '../core/contract/http.js';
import { webDistDir } from '../web/build.js';
import { UI_TIMEOUT_MS, browserPerTest, screenshot } from './support/browser.js';
import { TestStack, uniqueTag } from './support/stack.js';
import { gitProject as initGitProject } from './support/git-project.js';

/** The session page: a run's page links to its session, which shows the chain of runs with their branches and diffs. */

let stack: TestStack;
const ui = browserPerTest();
let page: Page;

beforeAll(async () => {
  // Global setup builds the dashboard once per test run; the API serves it from web/dist.
  expect(fs.existsSync(path.join(webDistDir, 'index.html'))).toBe(true);
  stack = await TestStack.create();
});
afterAll(async () => {
  await stack?.stop();
});
beforeEach(() => {
  page = ui.page;
});

const gitProject = async (): Promise<string> => initGitProject(await fsp.mkdtemp(path.join(stack.root, 'session-page-')));

describe('the session page', () => {
  it('is linked from a run’s page and shows the session’s runs in order, with branch, diff and status', async () => {
    const tag = uniqueTag('session-page');
    await stack.startRunner({ tags: [tag], projectDir: await gitProject() });
    const session = uniqueTag('page-session');
    const run = async (extra: Record<string, unknown>): Promise<RunView> =>
      (await stack.api<RunView>('POST', '/runs?wait=true', { body: { agent: 'echo', session_id: session, additional_demands: { tags: [tag] }, ...extra } })).body;
    const first = await run({ parameters: { write_file: { path: 'one.txt', content: 'one\n' } } });
    const empty = await run({ mode: 'resume' });
    const third = await run({ mode: 'resume', parameters: { write_file: { path: 'two.txt', content: 'two\nlines\n' } } });
    expect([first.status, empty.status, third.status]).toEqual(['completed', 'completed', 'completed']);

    await page.goto(`${stack.apiUrl}/ui/runs/${third.id}#token=${stack.token}`);
    await page.locator('[data-testid=run-session-link]').click({ timeout: UI_TIMEOUT_MS });
    await page.waitForURL(`**/ui/sessions/${session}`, { timeout: UI_TIMEOUT_MS });
    const rows = page.locator('[data-testid=session-run]');
    await expect.poll(() => rows.count(), { timeout: UI_TIMEOUT_MS }).toBe(3);
    expect(await rows.locator('a').allInnerTexts()).toEqual([first, empty, third].map((one) => one.id.slice(0, 8)));
    expect(await page.locator('[data-testid=session-run-branch]').allInnerTexts()).toEqual([`ao/${first.id}`, 'none (changed nothing)', `ao/${third.id}`]);
    expect(await page.locator('[data-testid=session-run-diff]').allInnerTexts()).toEqual(['1 files, +1 −0', '0 files, +0 −0', '1 files, +2 −0']);
    expect(await rows.locator('[data-testid=status-badge]').allInnerTexts()).toEqual(['completed', 'completed', 'completed']);
    expect(await page.locator('[data-testid=session-total]').innerText()).toContain('Total (3 runs)');
    await screenshot(page, 'session');
    // A run links back.
    await rows.nth(0).locator('a').click();
    await page.waitForURL(`**/ui/runs/${first.id}`, { timeout: UI_TIMEOUT_MS });
  });

  it('says so when the session does not exist', async () => {
    await page.goto(`${stack.apiUrl}/ui/sessions/no-such-session#token=${stack.token}`);
    await expect.poll(() => page.getByText('Could not load the session').count(), { timeout: UI_TIMEOUT_MS }).toBe(1);
  });
});
