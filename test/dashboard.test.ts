import crypto from 'node:crypto';
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import express from 'express';
import type { Page, Request, Route } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { serveDashboard } from '../api/dashboard.js';
import type { RunEventInput } from '../core/contract/events.js';
import type { RunList } from '../core/contract/http.js';
import { webDistDir } from '../web/build.js';
import { UI_TIMEOUT_MS, browserPerTest, screenshot } from './support/browser.js';
import { runGate, tickGate } from './support/gates.js';
import { TestStack, eventually } from './support/stack.js';

let stack: TestStack;
let runnerId: string;
let runnerDataDir: string;
const ui = browserPerTest();
/** This test's page (a fresh one per test, see `browserPerTest`). */
let page: Page;

beforeAll(async () => {
  // Global setup builds the dashboard once per test run; the API serves it from web/dist.
  expect(fs.existsSync(path.join(webDistDir, 'index.html'))).toBe(true);
  stack = await TestStack.create();
  ({ runnerId, dataDir: runnerDataDir } = await stack.startRunner({ profile: 'echo' }));
});
afterAll(async () => {
  await stack?.stop();
});
beforeEach(() => {
  page = ui.page;
});

/** The dashboard at `route`, with the token in the fragment the way `npm start` prints it. */
async function open(route: string, token: string | null = stack.token, apiUrl = stack.apiUrl): Promise<void> {
  await page.goto(`${apiUrl}/ui${route}${token ? `#token=${token}` : ''}`);
}

const runRow = (id: string) => page.locator(`[data-testid=run-row][data-run-id="${id}"]`);
const runStatus = (status: string) => page.locator(`[data-testid=run-status][data-status=${status}]`);
const terminalText = () => page.locator('[data-testid=terminal] .xterm-rows').innerText();
/** The few browser globals the page scripts here use (the tests compile without the DOM library). */
interface PageGlobals {
  document: { body: unknown; querySelector(selector: string): unknown };
  MutationObserver: new (callback: () => void) => { observe(target: unknown, options: object): void };
  staleRowsSeen?: number[];
}

/** The dashboard's requests for the runs list (the page itself is /ui/runs). */
const isRunsList = (request: Request, agent?: string): boolean => {
  const url = new URL(request.url());
  return url.pathname === '/runs' && request.method() === 'GET' && (agent === undefined || url.searchParams.get('agent') === agent);
};

describe('the dashboard as the API serves it', () => {
  it('loads without a token, redirects / to it, and still guards the API', async () => {
    const root = await fetch(`${stack.apiUrl}/`, { redirect: 'manual' });
    expect(root.status).toBe(302);
    expect(root.headers.get('location')).toBe('/ui/');
    const bare = await fetch(`${stack.apiUrl}/ui`, { redirect: 'manual' });
    expect(bare.headers.get('location')).toBe('/ui/');
    const home = await fetch(`${stack.apiUrl}/ui/`, { redirect: 'manual' });
    expect(home.status).toBe(200);
    expect(await home.text()).toContain('<div id="app">');
    const deepLink = await fetch(`${stack.apiUrl}/ui/runs/some-run`);
    expect(deepLink.status).toBe(200);
    expect(await deepLink.text()).toContain('<div id="app">');
    expect((await fetch(`${stack.apiUrl}/ui/assets/no-such-file.js`)).status).toBe(404);
    expect((await stack.api('GET', '/runs', { token: null })).status).toBe(401);
  });

  it('answers 503 saying how to build it when there is no build', async () => {
    const app = express();
    serveDashboard(app, fs.mkdtempSync(path.join(os.tmpdir(), 'ao-no-dist-')));
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    try {
      const response = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/ui/runs`);
      expect(response.status).toBe(503);
      expect(await response.text()).toContain('dashboard not built: run npm run web:build');
    } finally {
      server.close();
    }
  });

  it('takes the token from the address, then removes it from the address bar', async () => {
    await open('/runs');
    await page.getByTestId('runs-table').or(page.getByTestId('empty')).first().waitFor();
    expect(page.url()).toBe(`${stack.apiUrl}/ui/runs`);
  });

  it('asks for the token again when the API refuses it, and goes on with the right one', async () => {
    await open('/runs', 'not-the-right-token-at-all');
    await page.getByTestId('token-refused').waitFor();
    await screenshot(page, 'token');
    await page.getByTestId('token-input').fill(stack.token);
    await page.getByTestId('token-submit').click();
    await page.getByTestId('run-filters').waitFor();
    await expect(page.getByTestId('token-page').count()).resolves.toBe(0);
  });

  it('says the API does not answer when it goes away', async () => {
    const apiUrl = await stack.startApi();
    const api = stack.processes.at(-1)!;
    await open('/runners', stack.token, apiUrl);
    await page.locator(`[data-testid=runner-row][data-runner-id="${runnerId}"]`).waitFor();
    await api.stop();
    await page.getByTestId('error').filter({ hasText: 'the API does not answer' }).waitFor();
  });
});

describe('when a run is started from the form', () => {
  it('streams its output into the terminal and shows it completed', async () => {
    await open('/runs');
    await page.getByRole('link', { name: 'Start a run' }).first().click();
    await page.locator('#run-agent').selectOption('echo');
    await page.locator('#run-prompt').fill('hello from the dashboard');
    await page.locator('#param-message').fill('hi');
    await page.locator('#param-ticks').fill('3');
    await page.locator('#param-tick_interval_ms').fill('100');
    await screenshot(page, 'new-run');
    await page.getByTestId('start-run').click();

    await page.waitForURL(/\/ui\/runs\/[0-9a-f-]{36}$/);
    const id = page.url().split('/').at(-1)!;
    await runStatus('completed').waitFor();
    await expect.poll(terminalText, { timeout: UI_TIMEOUT_MS }).toContain('tick 2');
    await expect.poll(terminalText, { timeout: UI_TIMEOUT_MS }).toContain(`echo executor: run ${id}`);
    await page.locator('[data-testid=event-timeline] [data-kind=session_ended]').waitFor();
    await expect(page.getByTestId('stop-run').isDisabled()).resolves.toBe(true);
    await expect(page.getByTestId('run-runner').innerText()).resolves.toContain(runnerId);
    await screenshot(page, 'run-detail');

    const run = await stack.waitForRun(id);
    expect(run.parameters).toEqual({ message: 'hi', ticks: 3, tick_interval_ms: 100 });
  });

  it('runs a procedural agent with a form made from its script’s schema', async () => {
    // The shipped file-stats script reaches this procedural runner by script sync.
    await stack.startRunner({ profile: 'procedural' });
    await open('/runs/new?agent=file-stats');
    await page.locator('#param-path').fill('.');
    await page.locator('#param-extensions').fill('md');
    await page.getByTestId('start-run').click();
    await page.waitForURL(/\/ui\/runs\/[0-9a-f-]{36}$/);
    await runStatus('completed').waitFor();
    await expect.poll(terminalText, { timeout: UI_TIMEOUT_MS }).toContain('by_extension');
    await expect(page.getByTestId('run-script').innerText()).resolves.toMatch(/^file-stats @[0-9a-f]{12}$/);
    const run = await stack.waitForRun(page.url().split('/').at(-1)!);
    expect(run.parameters).toEqual({ path: '.', extensions: ['md'] });
    expect(run.result).toMatchObject({ by_extension: {} });
  });

  it('shows the API’s validation problems and starts nothing', async () => {
    await open('/runs/new?agent=echo');
    await page.locator('#param-write_file').fill('{"path": "a.txt"}');
    await page.getByTestId('start-run').click();
    const error = page.getByTestId('error');
    await error.waitFor();
    await expect(error.innerText()).resolves.toContain('parameters do not match the schema');
    await expect(page.getByTestId('error-problems').innerText()).resolves.toContain('content');
    expect(page.url()).toContain('/ui/runs/new');
  });
});

describe('when a running run is stopped from its page', () => {
  it('ends it stopped and disables the Stop button', async () => {
    // One tick, then held by a gate that never opens: only the stop ends it.
    const held = await runGate(stack.root);
    const id = await stack.postRun({ agent: 'echo', parameters: { ticks: 1, ...held.parameters } });
    try {
      await open(`/runs/${id}`);
      await expect.poll(terminalText, { timeout: UI_TIMEOUT_MS }).toMatch(/tick \d+/);
      await runStatus('running').waitFor();
      await page.getByTestId('stop-run').click();
      await runStatus('stopped').waitFor();
      await expect(page.getByTestId('stop-run').isDisabled()).resolves.toBe(true);
      await expect(page.getByTestId('status-history').innerText()).resolves.toContain('stopping');
    } finally {
      // Frees the runner's slot for the next tests even when this one failed.
      await stack.api('POST', `/runs/${id}/stop`);
    }
  });
});

describe('a running run’s output', () => {
  /** The tick numbers the terminal shows now, top to bottom. */
  const visibleTicks = async (): Promise<number[]> => [...(await terminalText()).matchAll(/tick (\d+) /g)].map((match) => Number(match[1]));
  const upTo = (count: number): number[] => Array.from({ length: count }, (_, index) => index);
  /** Whether the runner's spool holds this run's output line `text`: written while no API could take it. */
  const spooled = async (runId: string, text: string): Promise<boolean> => {
    const dir = path.join(runnerDataDir, 'spool');
    for (const file of (await fs.promises.readdir(dir)).filter((name) => name.endsWith('.jsonl'))) {
      const lines = (await fs.promises.readFile(path.join(dir, file), 'utf8')).split('\n').filter(Boolean);
      const events = lines.map((line) => JSON.parse(line) as RunEventInput);
      if (events.some((event) => event.run_id === runId && event.kind === 'terminal_chunk' && String(event.data.text).includes(text))) return true;
    }
    return false;
  };

  it('arrives while the run runs, and after the API restarts continues with nothing lost or repeated', async () => {
    // The run prints its nine ticks only as the test allows: three while the page watches, three while
    // the API is down, three after it is back. So what the terminal must show is known at every step.
    const ticks = await tickGate(stack.root);
    const id = await stack.postRun({ agent: 'echo', parameters: ticks.parameters(9) });
    try {
      await open(`/runs/${id}`);
      await page.locator('[data-state=live]').waitFor();
      await ticks.allow(3);
      // Output comes while the page shows the run running (it cannot end before tick 8): live, not a replay at the end.
      await expect.poll(visibleTicks, { timeout: UI_TIMEOUT_MS }).toEqual(upTo(3));
      await runStatus('running').waitFor();

      const api = stack.processes.find((process) => process.name === 'api')!;
      await api.stop();
      await page.locator('[data-state=reconnecting]').waitFor();
      await ticks.allow(6);
      await eventually(async () => {
        if (!(await spooled(id, 'tick 5 '))) throw new Error('tick 5 is not in the runner’s spool yet');
      }, UI_TIMEOUT_MS);
      await stack.startApi({ AO_API_PORT: new URL(stack.apiUrl).port });
      await page.locator('[data-state=live]').waitFor();
      // The ticks printed while the API was down are replayed from the runner's spool and the API's store.
      await expect.poll(visibleTicks, { timeout: UI_TIMEOUT_MS }).toEqual(upTo(6));
      await runStatus('running').waitFor();
      // And the stream goes on live after the restart.
      await ticks.allow(9);
      await expect.poll(visibleTicks, { timeout: UI_TIMEOUT_MS }).toEqual(upTo(9));
      await runStatus('completed').waitFor();
      await expect(visibleTicks()).resolves.toEqual(upTo(9));
    } finally {
      await stack.api('POST', `/runs/${id}/stop`);
    }
  });
});

describe('a run the API does not know', () => {
  it('says so, and stops asking', async () => {
    await open('/runs/00000000-0000-4000-8000-000000000000');
    await page.getByTestId('error').filter({ hasText: 'does not exist' }).waitFor();
    await expect(page.getByTestId('run-status').count()).resolves.toBe(0);
  });
});

describe('the runs list', () => {
  let completedId: string;
  let pendingId: string;

  beforeAll(async () => {
    // `coder` needs a claude-code runner, which this stack does not have: it stays pending.
    [completedId, pendingId] = await Promise.all([stack.postRun({ agent: 'echo', prompt: 'to filter' }), stack.postRun({ agent: 'coder', prompt: 'waits' })]);
    await stack.waitForRun(completedId);
  });

  it('narrows to the chosen status and agent, kept in the address', async () => {
    await open('/runs');
    await runRow(completedId).waitFor();
    await runRow(pendingId).waitFor();
    await screenshot(page, 'runs');

    await page.locator('select[name=status]').selectOption('completed');
    await runRow(pendingId).waitFor({ state: 'detached' });
    await runRow(completedId).waitFor();
    expect(new URL(page.url()).searchParams.get('status')).toBe('completed');

    await page.getByRole('button', { name: 'Clear filters' }).click();
    const agent = page.locator('input[name=agent]');
    await agent.fill('coder');
    await agent.press('Tab');
    await runRow(completedId).waitFor({ state: 'detached' });
    await runRow(pendingId).waitFor();
    expect(new URL(page.url()).searchParams.get('agent')).toBe('coder');

    await page.reload();
    await runRow(pendingId).waitFor();
    await expect(runRow(completedId).count()).resolves.toBe(0);
  });

  it('keeps what is typed into a filter while the list reloads underneath', async () => {
    await open('/runs');
    await runRow(completedId).waitFor();
    const agent = page.locator('input[name=agent]');
    await agent.fill('cod');
    // The list reloads every few seconds. Once a reload's answer has come and the next reload is asked
    // for, the page has shown that answer (the next one is asked only after it).
    await page.waitForResponse((response) => isRunsList(response.request()));
    await page.waitForRequest((request) => isRunsList(request));
    await expect(agent.inputValue()).resolves.toBe('cod');
    expect(new URL(page.url()).searchParams.get('agent')).toBeNull();
    await agent.press('Tab');
    await runRow(completedId).waitFor({ state: 'detached' });
    expect(new URL(page.url()).searchParams.get('agent')).toBe('cod');
  });

  it('never shows the rows of a filter it has left, even when that filter’s answer comes last', async () => {
    // The answer for agent=echo is held back until the page shows agent=coder's, then let go.
    let hold!: (route: Route) => void;
    const held = new Promise<Route>((resolve) => (hold = resolve));
    await page.route((url) => url.pathname === '/runs' && url.searchParams.get('agent') === 'echo', (route) => hold(route), { times: 1 });
    await open('/runs?agent=echo');
    const late = await held;
    const settled = Promise.race([
      page.waitForEvent('requestfinished', { predicate: (request) => request === late.request(), timeout: UI_TIMEOUT_MS }).then(() => 'finished'),
      page.waitForEvent('requestfailed', { predicate: (request) => request === late.request(), timeout: UI_TIMEOUT_MS }).then(() => 'failed'),
    ]);
    await page.getByTestId('loading').waitFor();

    const agent = page.locator('input[name=agent]');
    await agent.fill('coder');
    await agent.press('Tab');
    await runRow(pendingId).waitFor();
    // From here on the page records every moment the echo run's row is in it, however brief.
    await page.evaluate((id) => {
      const browser = globalThis as unknown as PageGlobals;
      browser.staleRowsSeen = [];
      new browser.MutationObserver(() => {
        if (browser.document.querySelector(`[data-run-id="${id}"]`)) browser.staleRowsSeen!.push(Date.now());
      }).observe(browser.document.body, { childList: true, subtree: true, attributes: true });
    }, completedId);

    // The held answer is the API's real one for agent=echo: it lists the echo run.
    const response = await late.fetch();
    expect(((await response.json()) as RunList).runs.map((run) => run.id)).toContain(completedId);
    await late.fulfill({ response });
    // The page gave up on the request it no longer wanted (it cancels it), so that answer shows nowhere.
    await expect(settled).resolves.toBe('failed');
    // The list asks again only after it has handled everything before: by then the late answer was seen.
    await page.waitForRequest((request) => isRunsList(request, 'coder'));
    await expect(page.evaluate(() => (globalThis as unknown as PageGlobals).staleRowsSeen)).resolves.toEqual([]);
    await expect(runRow(completedId).count()).resolves.toBe(0);
    await expect(runRow(pendingId).count()).resolves.toBe(1);
  });

  it('says so when no run matches', async () => {
    await open('/runs?agent=no-such-agent');
    await page.getByTestId('empty').filter({ hasText: 'No runs match these filters' }).waitFor();
  });

  it('shows why a pending run waits', async () => {
    await open(`/runs/${pendingId}`);
    await runStatus('pending').waitFor();
    await page.getByTestId('pending-reason').filter({ hasText: 'claude-code' }).waitFor();
    await screenshot(page, 'run-pending');
  });
});

describe('the fleet pages', () => {
  it('show the runner with its profile, executor and load', async () => {
    await open('/runners');
    const row = page.locator(`[data-testid=runner-row][data-runner-id="${runnerId}"]`);
    await row.waitFor();
    await expect(row.getAttribute('data-status')).resolves.toBe('online');
    await expect(row.getByTestId('runner-profile').innerText()).resolves.toBe('echo');
    await expect(row.getByTestId('runner-load').innerText()).resolves.toMatch(/^\d+ \/ 1$/);
    await screenshot(page, 'runners');
  });

  it('list the executor profiles with their type', async () => {
    await open('/profiles');
    await page.locator('[data-testid=profile-card][data-profile=echo]').waitFor();
    await expect(page.locator('[data-testid=profile-card][data-profile=coding]').innerText()).resolves.toContain('claude-code');
    await screenshot(page, 'profiles');
  });

  it('list the agents', async () => {
    await open('/agents');
    await page.locator('[data-testid=agent-row][data-agent=echo]').waitFor();
    await screenshot(page, 'agents');
  });

  it('list a broken agent or script file with its error, beside the good ones', async () => {
    const suffix = crypto.randomBytes(3).toString('hex');
    for (const [kind, file] of [['agents', 'agent.json'], ['scripts', 'script.json']] as const) {
      fs.mkdirSync(path.join(stack.configDir, kind, `broken-${suffix}`), { recursive: true });
      fs.writeFileSync(path.join(stack.configDir, kind, `broken-${suffix}`, file), '{ "name": ');
    }
    try {
      await open('/agents');
      await page.getByTestId('broken-agents').filter({ hasText: `broken-${suffix}` }).waitFor();
      await page.locator('[data-testid=agent-row][data-agent=echo]').waitFor();
      await open('/scripts');
      await page.getByTestId('broken-scripts').filter({ hasText: `broken-${suffix}` }).waitFor();
      await expect(page.getByTestId('broken-scripts').innerText()).resolves.toContain('is invalid');
      await page.getByText('file-stats').first().waitFor();
    } finally {
      for (const kind of ['agents', 'scripts']) fs.rmSync(path.join(stack.configDir, kind, `broken-${suffix}`), { recursive: true, force: true });
    }
  });
});

describe('when an agent is edited on the agents page', () => {
  it('is created with a parameters form, deactivated so it cannot be started, and deleted', async () => {
    const name = `ui-agent-${crypto.randomBytes(3).toString('hex')}`;
    await open('/agents');
    await page.getByRole('link', { name: 'New agent' }).click();
    await page.locator('#agent-name').fill(name);
    await page.locator('#agent-description').fill('made in the dashboard');
    await page.locator('#agent-parameters').fill('{"type": "object", "properties": {"level": {"enum": ["low", "high"]}}, "required": ["level"]}');
    await page.locator('#agent-executor-type').selectOption('echo');
    await page.locator('#agent-pull-request').fill('{"command": ["gh", "pr", "create", "--head", "{branch}"]}');
    await page.getByTestId('save-agent').click();
    await page.waitForURL(new RegExp(`/ui/agents/${name}$`));
    await screenshot(page, 'agent-editor');

    await page.getByRole('link', { name: 'Run it' }).click();
    await page.locator('#param-level').selectOption('high');
    await expect(page.locator('#run-agent').inputValue()).resolves.toBe(name);

    await open(`/agents/${name}`);
    await page.getByTestId('agent-active').uncheck();
    await page.getByTestId('save-agent').click();
    await page.getByTestId('saved').waitFor();
    const { body: stored } = await stack.api<{ status: string; demands: { executor_type?: string } }>('GET', `/agents/${name}`);
    // The edit kept its pull request config (the form carries it; an agent saved without it would lose it).
    expect(stored).toMatchObject({ status: 'inactive', demands: { executor_type: 'echo' }, pull_request: { remote: 'origin', command: ['gh', 'pr', 'create', '--head', '{branch}'] } });
    await open('/runs/new');
    await page.locator('#run-agent option[value=echo]').waitFor({ state: 'attached' });
    await expect(page.locator(`#run-agent option[value="${name}"]`).count()).resolves.toBe(0);

    await open(`/agents/${name}`);
    await page.getByRole('button', { name: 'Delete' }).click();
    await page.getByTestId('confirm').click();
    await page.waitForURL(/\/ui\/agents$/);
    await page.locator('[data-testid=agent-row][data-agent=echo]').waitFor();
    await expect(page.locator(`[data-testid=agent-row][data-agent="${name}"]`).count()).resolves.toBe(0);
  });
});

describe('when a script is created on the scripts page', () => {
  it('is listed with its version, installed on the runner, and refused deletion while an agent uses it', async () => {
    const name = `greet-${crypto.randomBytes(3).toString('hex')}`;
    await open('/scripts');
    await page.getByRole('link', { name: 'New script' }).click();
    await page.locator('#script-name').fill(name);
    await page.locator('#script-file').fill('greet.sh');
    await page.locator('#script-description').fill('says hello');
    await page.locator('#script-content').fill('#!/bin/sh\necho hello\n');
    await page.getByTestId('save-script').click();
    await page.waitForURL(new RegExp(`/ui/scripts/${name}$`));

    const { status, body: script } = await stack.api<{ version: string }>('GET', `/scripts/${name}`);
    expect(status).toBe(200);
    await page.getByRole('link', { name: 'All scripts' }).click();
    await page.locator(`[data-testid=script-row][data-script="${name}"] [data-testid=script-version][data-version="${script.version}"]`).waitFor();
    await screenshot(page, 'scripts');

    await page.getByRole('link', { name: 'Runners', exact: true }).click();
    await page.locator(`[data-testid=runner-row][data-runner-id="${runnerId}"] [data-script="${name}"][data-version="${script.version}"]`).waitFor();

    const agent = await stack.api('POST', '/agents', { body: { name: `uses-${name}`, type: 'procedural', script: name } });
    expect(agent.status).toBe(201);
    await open(`/scripts/${name}`);
    await page.getByRole('button', { name: 'Delete' }).click();
    await page.getByTestId('confirm').click();
    await page.getByTestId('script-used-by').filter({ hasText: `uses-${name}` }).waitFor();
    await screenshot(page, 'script-editor');
  });
});
