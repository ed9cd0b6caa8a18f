import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CreatedToken } from '../core/contract/identity.js';
import { browserPerTest, screenshot } from './support/browser.js';
import { runGate } from './support/gates.js';
import { TestStack } from './support/stack.js';

let stack: TestStack;
const browser = browserPerTest();

beforeAll(async () => {
  stack = await TestStack.create();
  await stack.startRunner({ profile: 'echo' });
});
afterAll(async () => {
  await stack?.stop();
});

const open = (route: string, token = stack.token) => browser.page.goto(`${stack.apiUrl}/ui${route}#token=${token}`);

describe('the tokens page', () => {
  it('creates a token with a role, shows its secret once, and revokes it', async () => {
    const { page } = browser;
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
    const { page } = browser;
    const { body: operator } = await stack.api<CreatedToken>('POST', '/tokens', { body: { name: 'ops-olga', role: 'operator' } });
    // Held until the stop: it is still running when the stop comes.
    const gate = await runGate(stack.root);
    const started = await stack.api<{ id: string }>('POST', '/runs', { token: operator.token, body: { agent: 'echo', parameters: gate.parameters } });
    await stack.waitForRun(started.body.id, (run) => run.status === 'running');
    await stack.api('POST', `/runs/${started.body.id}/stop`, { body: { reason: 'done looking' } });
    await stack.waitForRun(started.body.id);
    await open(`/runs/${started.body.id}`);
    const by = page.getByTestId('status-history').getByTestId('status-by');
    await expect.poll(async () => by.allInnerTexts()).toEqual(expect.arrayContaining(['by ops-olga', 'by admin']));
  });
});
