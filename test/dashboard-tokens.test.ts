import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { CreatedToken } from '../core/contract/identity.js';
import { collectPageErrors, launchBrowser, screenshot } from './support/browser.js';
import { TestStack } from './support/stack.js';

/** Long enough for a busy machine; the waits end as soon as the condition holds. */
const UI_TIMEOUT_MS = 45_000;

let stack: TestStack;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let pageErrors: string[];

beforeAll(async () => {
  [stack, browser] = await Promise.all([TestStack.create(), launchBrowser()]);
  await stack.startRunner({ profile: 'echo' });
});
afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});
beforeEach(async () => {
  context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  context.setDefaultTimeout(UI_TIMEOUT_MS);
  page = await context.newPage();
  pageErrors = collectPageErrors(page);
});
afterEach(async () => {
  await context.close();
  expect(pageErrors).toEqual([]);
});

const open = (route: string, token = stack.token) => page.goto(`${stack.apiUrl}/ui${route}#token=${token}`);

describe('the tokens page', () => {
  it('creates a token with a role, shows its secret once, and revokes it', async () => {
    await open('/tokens');
    await page.getByTestId('token-name').fill('ci-viewer');
    await page.getByTestId('token-role').selectOption('viewer');
    await page.getByTestId('token-create').click();
    const secret = (await page.getByTestId('token-secret').locator('pre').innerText()).trim();
    expect((await stack.api('GET', '/runs', { token: secret })).status).toBe(200);
    await expect.poll(() => page.locator('[data-testid=token-row][data-token=ci-viewer]').count()).toBe(1);
    await screenshot(page, 'tokens');
    await page.locator('[data-testid=token-row][data-token=ci-viewer] [data-testid=token-revoke] button').click();
    await page.locator('[data-testid=token-row][data-token=ci-viewer] [data-testid=confirm]').click();
    await expect.poll(() => page.locator('[data-testid=token-row][data-token=ci-viewer]').count()).toBe(0);
    expect((await stack.api('GET', '/runs', { token: secret })).status).toBe(401);
  });
});

describe('a run started and stopped by named operators', () => {
  it('shows who did each in its status history', async () => {
    const { body: operator } = await stack.api<CreatedToken>('POST', '/tokens', { body: { name: 'ops-olga', role: 'operator' } });
    const started = await stack.api<{ id: string }>('POST', '/runs', { token: operator.token, body: { agent: 'echo', parameters: { sleep_ms: 60_000 } } });
    await stack.waitForRun(started.body.id, (run) => run.status === 'running');
    await stack.api('POST', `/runs/${started.body.id}/stop`, { body: { reason: 'done looking' } });
    await stack.waitForRun(started.body.id);
    await open(`/runs/${started.body.id}`);
    const by = page.getByTestId('status-history').getByTestId('status-by');
    await expect.poll(async () => by.allInnerTexts()).toEqual(expect.arrayContaining(['by ops-olga', 'by admin']));
  });
});
