import type { Page } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { RunView } from '../core/contract/http.js';
import type { NotificationView } from '../core/contract/notifications.js';
import * as anthropic from './support/scripted-anthropic.js';
import { UI_TIMEOUT_MS, browserPerTest, screenshot } from './support/browser.js';
import { TestStack, uniqueTag } from './support/stack.js';
import { startSupervisedClaude, supervisedConfig } from './support/supervised-claude.js';
import { startWebhookReceiver, type WebhookReceiver } from './support/webhook-receiver.js';

/** The notifications page and the runs that wait for a person, in a real Chromium against a real stack. */
let stack: TestStack;
let receiver: WebhookReceiver;
let tag: string;
const ui = browserPerTest();
let page: Page;

beforeAll(async () => {
  stack = await TestStack.create();
  receiver = await startWebhookReceiver();
  tag = uniqueTag('ui-notify');
  await stack.startRunner({ tags: [tag] });
});
afterAll(async () => {
  await receiver?.close();
  await stack?.stop();
});
beforeEach(() => {
  page = ui.page;
});

const row = (name: string) => page.locator(`[data-testid=notification-row][data-notification="${name}"]`);

describe('the notifications page', () => {
  it('creates a notification, shows its deliveries with their outcome, edits and deletes it, and never shows the secret', async () => {
    const name = uniqueTag('chat');
    const secret = 'dashboard-secret-0123456789';
    receiver.answer(`/${name}`, (attempt) => (attempt === 1 ? 503 : 200));
    await page.goto(`${stack.apiUrl}/ui/notifications#token=${stack.token}`);
    await page.locator('[data-testid=notification-new]').click();
    const form = page.locator('[data-testid=notification-form]');
    await form.locator('[data-testid=notification-name]').fill(name);
    await form.locator('[data-testid=notification-url]').fill(`${receiver.url}/${name}`);
    await form.locator('[data-testid=notification-secret]').fill(secret);
    await form.locator('[data-testid="notification-event-approval_requested"]').uncheck();
    await form.locator('[data-testid="notification-event-run.completed"]').check();
    await form.locator('#notification-tags').fill(tag);
    await form.locator('[data-testid=notification-save]').click();
    await row(name).waitFor({ timeout: UI_TIMEOUT_MS });
    expect(await row(name).locator('[data-testid=notification-row-url]').innerText()).toBe(`${receiver.url}/${name}`);
    const stored = (await stack.api<NotificationView>('GET', `/notifications/${name}`)).body;
    expect(stored).toMatchObject({ events: ['run.completed'], tags: [tag], enabled: true, has_secret: true });

    const id = await stack.postRun({ agent: 'echo', prompt: 'tell the chat', additional_demands: { tags: [tag] } });
    await stack.waitForRun(id);
    await row(name).locator('[data-testid=notification-deliveries]').click();
    const delivery = page.locator(`[data-testid=delivery-row][data-run-id="${id}"]`);
    await delivery.and(page.locator('[data-status=delivered]')).waitFor({ timeout: UI_TIMEOUT_MS });
    expect(await delivery.locator('[data-testid=delivery-attempts]').innerText()).toBe('2');
    expect(await delivery.locator('[data-testid=delivery-answer]').innerText()).toContain('200');
    await screenshot(page, 'notifications-deliveries');

    await row(name).locator('[data-testid=notification-edit]').click();
    expect(await form.locator('[data-testid=notification-secret]').inputValue(), 'the stored secret is never put in the form').toBe('');
    await form.locator('[data-testid=notification-enabled]').uncheck();
    await form.locator('[data-testid=notification-save]').click();
    await expect.poll(() => row(name).innerText(), { timeout: UI_TIMEOUT_MS }).toContain('disabled');
    expect((await stack.api<NotificationView>('GET', `/notifications/${name}`)).body).toMatchObject({ enabled: false, tags: [tag] });
    expect(await page.content()).not.toContain(secret);

    await row(name).locator('button', { hasText: 'Delete' }).click();
    await row(name).locator('[data-testid=confirm]').click();
    await expect.poll(() => row(name).count(), { timeout: UI_TIMEOUT_MS }).toBe(0);
    expect((await stack.api('GET', `/notifications/${name}`)).status).toBe(404);
  });

  it('shows the reason the API refuses a definition', async () => {
    await page.goto(`${stack.apiUrl}/ui/notifications#token=${stack.token}`);
    await page.locator('[data-testid=notification-new]').click();
    const form = page.locator('[data-testid=notification-form]');
    await form.locator('[data-testid=notification-name]').fill(uniqueTag('bad'));
    // The browser takes it as a URL; the API does not take its scheme.
    await form.locator('[data-testid=notification-url]').fill('ftp://files.example.test/drop');
    await form.locator('[data-testid=notification-secret]').fill('a-long-enough-secret');
    await form.locator('[data-testid=notification-save]').click();
    await expect.poll(() => page.locator('.notice-error').innerText(), { timeout: UI_TIMEOUT_MS }).toContain('http:// or https://');
  });
});

describe('runs waiting for a person', () => {
  it('come first in the runs list and are counted in the header, which leads to them', async () => {
    const turns: anthropic.Turn[] = [anthropic.callTool('Bash', { command: 'touch waits.txt' }), anthropic.reply('Done.')];
    const { endpoint, runners } = await startSupervisedClaude(stack, turns, { ui: supervisedConfig({ approval_timeout_seconds: 3600 }) });
    try {
      const waitingId = await stack.postRun({ agent: 'coder', prompt: 'create waits.txt', additional_demands: { tags: [runners.ui.tag] } });
      await stack.waitForRun(waitingId, (run) => run.status === 'waiting_for_approval');
      // Newer runs than the waiting one: by time alone they would come first.
      for (let index = 0; index < 2; index += 1) await stack.waitForRun(await stack.postRun({ agent: 'echo', prompt: `later ${index}`, additional_demands: { tags: [tag] } }));

      await page.goto(`${stack.apiUrl}/ui/runs#token=${stack.token}`);
      await expect.poll(() => page.locator('[data-testid=run-row]').first().getAttribute('data-run-id'), { timeout: UI_TIMEOUT_MS }).toBe(waitingId);
      await expect.poll(() => page.locator('[data-testid=nav-waiting-count]').innerText(), { timeout: UI_TIMEOUT_MS }).toBe('1');
      await screenshot(page, 'runs-waiting-first');
      // From another page, the header still counts it and leads to it.
      await page.goto(`${stack.apiUrl}/ui/agents#token=${stack.token}`);
      await page.locator('[data-testid=nav-waiting]').click();
      await page.waitForURL(`**/ui/runs/${waitingId}`);

      await stack.api('POST', `/runs/${waitingId}/stop?wait=true`);
      await expect.poll(() => page.locator('[data-testid=nav-waiting]').count(), { timeout: UI_TIMEOUT_MS }).toBe(0);
      expect((await stack.api<RunView>('GET', `/runs/${waitingId}`)).body.status).toBe('stopped');
    } finally {
      await endpoint.close();
    }
  });
});
