import fs from 'node:fs/promises';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, expect } from 'vitest';
import { repoRoot } from '../../core/config/paths.js';
import { testTime } from './time.js';

/** Debian's chromium (`.ci/run` installs it); playwright-core drives it, no browser download. */
const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export const screenshotDir = path.join(repoRoot, 'test-output', 'screenshots');

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}

/** Saves a full-page screenshot as test-output/screenshots/<name>.png, for a look at each page. */
export async function screenshot(page: Page, name: string): Promise<void> {
  await fs.mkdir(screenshotDir, { recursive: true });
  await page.screenshot({ path: path.join(screenshotDir, `${name}.png`), fullPage: true });
}

/**
 * Uncaught errors in the page and errors it logged (production Vue reports handler and watcher
 * errors on the console), collected so a test can assert there were none. The browser's own
 * "Failed to load resource" lines are left out: some tests make the API refuse or go away.
 */
export function collectPageErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.stack ?? error.message));
  page.on('console', (message) => {
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) errors.push(`console: ${message.text()}`);
  });
  return errors;
}

/** Long enough for a real run on a busy machine; the waits end as soon as the condition holds. */
export const UI_TIMEOUT_MS = testTime(45_000);

/**
 * Registers the hooks of a browser test file: one Chromium for the file, a fresh context and page
 * per test, and no page error or console error allowed. Read `page` inside tests.
 */
export function browserPerTest(): { readonly page: Page } {
  let browser: Browser | undefined;
  let context: BrowserContext | undefined;
  let page: Page | undefined;
  let errors: string[] = [];
  beforeAll(async () => {
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
  });
  beforeEach(async () => {
    context = await browser!.newContext({ viewport: { width: 1280, height: 900 } });
    context.setDefaultTimeout(UI_TIMEOUT_MS);
    page = await context.newPage();
    errors = collectPageErrors(page);
  });
  afterEach(async () => {
    await context?.close();
    expect(errors).toEqual([]);
  });
  return {
    get page() {
      return page!;
    },
  };
}
