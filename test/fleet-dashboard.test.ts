import fs from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { RunList } from '../core/contract/http.js';
import { webDistDir } from '../web/build.js';
import { browserPerTest, screenshot } from './support/browser.js';
import { TestStack, eventually, uniqueTag } from './support/stack.js';

let stack: TestStack;
let echoRunner: { runnerId: string; tag: string };
let proceduralRunner: { runnerId: string; tag: string };
const ui = browserPerTest();
let page: Page;

beforeAll(async () => {
  expect(fs.existsSync(path.join(webDistDir, 'index.html'))).toBe(true);
  stack = await TestStack.create();
  const [echoTag, proceduralTag] = [uniqueTag('echo'), uniqueTag('proc')];
  echoRunner = { runnerId: (await stack.startRunner({ tags: [echoTag], capacity: 2 })).runnerId, tag: echoTag };
  proceduralRunner = { runnerId: (await stack.startRunner({ profile: 'procedural', tags: [proceduralTag] })).runnerId, tag: proceduralTag };
});
afterAll(async () => {
  await stack?.stop();
});
beforeEach(() => {
  page = ui.page;
});

async function open(route: string): Promise<void> {
  await page.goto(`${stack.apiUrl}/ui${route}#token=${stack.token}`);
}

/** An attribute of every element the selector finds, in page order. */
async function attributeOfAll(selector: string, attribute: string): Promise<Array<string | null>> {
  return Promise.all((await page.locator(selector).all()).map((element) => element.getAttribute(attribute)));
}
const shownRunners = () => attributeOfAll('[data-testid=runner-row]', 'data-runner-id');
const query = () => new URL(page.url()).searchParams;

/** Waits until the table shows exactly these runners, in this order. */
async function expectRunners(ids: string[]): Promise<void> {
  await eventually(async () => expect(await shownRunners()).toEqual(ids));
}

describe('the runners table', () => {
  it('sorts by a column and filters by profile and tag, keeping both in the address', async () => {
    await open('/runners');
    const byId = [echoRunner.runnerId, proceduralRunner.runnerId].sort();
    await page.getByTestId('sort-runner').click();
    await expectRunners(byId);
    expect(query().get('sort')).toBe('runner');
    await page.getByTestId('sort-runner').click();
    await expectRunners([...byId].reverse());
    expect(query().get('sort')).toBe('-runner');

    // Profiles: echo before procedural ascending, the other way round descending.
    await page.getByTestId('sort-profile').click();
    await expectRunners([echoRunner.runnerId, proceduralRunner.runnerId]);
    await page.getByTestId('sort-profile').click();
    await expectRunners([proceduralRunner.runnerId, echoRunner.runnerId]);

    await page.locator('[data-testid=runner-filters] select[name=profile]').selectOption('procedural');
    await expectRunners([proceduralRunner.runnerId]);
    expect(query().get('profile')).toBe('procedural');
    await screenshot(page, 'runners-table');

    // The address alone brings the same view back.
    await page.reload();
    await expectRunners([proceduralRunner.runnerId]);
    await expect(page.locator('[data-testid=runner-filters] select[name=profile]').inputValue()).resolves.toBe('procedural');

    await page.getByRole('button', { name: 'Clear filters' }).click();
    await expectRunners([proceduralRunner.runnerId, echoRunner.runnerId]);
    expect(query().get('sort')).toBe('-profile');
    const tagFilter = page.locator('[data-testid=runner-filters] input[name=tag]');
    await tagFilter.fill(echoRunner.tag);
    await tagFilter.press('Enter');
    await expectRunners([echoRunner.runnerId]);
    expect(query().get('tag')).toBe(echoRunner.tag);
    const hostFilter = page.locator('[data-testid=runner-filters] input[name=host]');
    await hostFilter.fill('no-such-host');
    await hostFilter.press('Enter');
    await page.getByTestId('empty').filter({ hasText: 'No runners match these filters.' }).waitFor();
  });

  it('shows when an offline runner was last heard from, and forgets it', async () => {
    const { process: runner, runnerId } = await stack.startRunner({ tags: [uniqueTag('leaving')] });
    await runner.stop();
    await open('/runners?status=offline');
    const row = page.locator(`[data-testid=runner-row][data-runner-id="${runnerId}"]`);
    await row.waitFor();
    await expect(row.getByTestId('runner-heartbeat').innerText()).resolves.toMatch(/ago$/);
    await row.getByRole('button', { name: 'Forget' }).click();
    await row.getByTestId('confirm').click();
    await row.waitFor({ state: 'detached' });
    const { body } = await stack.api<{ runners: Array<{ runner_id: string }> }>('GET', '/runners?all=true');
    expect(body.runners.map((listed) => listed.runner_id)).not.toContain(runnerId);
  });
});

describe('the fleet overview', () => {
  it('shows runs by status, slots used and free, and the runs waiting per demand', async () => {
    const completed = await stack.postRun({ agent: 'echo', additional_demands: { tags: [echoRunner.tag] } });
    expect((await stack.waitForRun(completed)).status).toBe('completed');
    const nowhere = uniqueTag('nowhere');
    const waiting = await Promise.all([1, 2].map(() => stack.postRun({ agent: 'echo', additional_demands: { tags: [nowhere] } })));
    for (const id of waiting) await stack.waitForRun(id, (run) => run.pending_reason !== undefined);

    await open('/fleet');
    const waitingRow = page.locator(`[data-testid=waiting-row][data-tags="${nowhere}"]`);
    await waitingRow.waitFor();
    await expect(waitingRow.getByTestId('waiting-runs').innerText()).resolves.toBe('2');
    // The runs so far in this file's namespace: this test's three.
    await expect(page.locator('[data-testid=overview-runs] [data-status=completed] [data-testid=run-count]').innerText()).resolves.toBe('1');
    await expect(page.locator('[data-testid=overview-runs] [data-status=pending] [data-testid=run-count]').innerText()).resolves.toBe('2');
    // Two online runners, capacity 2 and 1, both idle.
    await expect(page.getByTestId('slots-capacity').innerText()).resolves.toBe('3');
    await expect(page.getByTestId('slots-used').innerText()).resolves.toBe('0');
    await expect(page.getByTestId('slots-free').innerText()).resolves.toBe('3');
    await screenshot(page, 'fleet-overview');
    for (const id of waiting) expect((await stack.api('POST', `/runs/${id}/stop`)).status).toBe(202);
  });
});

describe('the runs list', () => {
  it('pages older and newer through more runs than a page holds, the page kept in the address', async () => {
    const tag = uniqueTag('paged');
    const ids = await Promise.all(Array.from({ length: 5 }, () => stack.postRun({ agent: 'echo', additional_demands: { tags: [tag] } })));
    await eventually(async () => {
      const { body } = await stack.api<RunList>('GET', `/runs?tag=${tag}`);
      if (body.runs.length !== ids.length) throw new Error(`${body.runs.length} of ${ids.length} runs listed`);
    });
    const rows = () => attributeOfAll('[data-testid=run-row]', 'data-run-id');
    /** The rows once the page shows this many (a new page replaces the last one's rows). */
    const pageOf = async (count: number): Promise<string[]> => eventually(async () => {
      const shown = await rows();
      expect(shown).toHaveLength(count);
      return shown as string[];
    });

    await open(`/runs?tag=${tag}&limit=2`);
    const first = await pageOf(2);
    await page.getByTestId('pager-older').click();
    await page.getByTestId('pager-page').filter({ hasText: 'page 2' }).waitFor();
    const second = await eventually(async () => {
      const shown = await pageOf(2);
      expect(shown.filter((id) => first.includes(id))).toEqual([]);
      return shown;
    });
    expect(query().get('pages')).toBeTruthy();
    await screenshot(page, 'runs-page-2');

    // A reload shows the same page: it is in the address.
    await page.reload();
    await page.getByTestId('pager-page').filter({ hasText: 'page 2' }).waitFor();
    expect(await pageOf(2)).toEqual(second);

    await page.getByTestId('pager-older').click();
    await page.getByTestId('pager-page').filter({ hasText: 'page 3' }).waitFor();
    const third = await pageOf(1);
    expect([...first, ...second, ...third].sort()).toEqual([...ids].sort());

    await page.getByTestId('pager-newer').click();
    await page.getByTestId('pager-newer').click();
    await page.getByTestId('pager-page').filter({ hasText: 'page 1' }).waitFor();
    expect(await pageOf(2)).toEqual(first);
    expect(query().get('pages')).toBeNull();
  });
});
