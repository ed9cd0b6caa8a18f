import fs from 'node:fs/promises';
import path from 'node:path';
import { spawn as spawnPty, type IPty } from 'node-pty';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { repoRoot } from '../core/config/paths.js';
import { TestStack, eventually, uniqueTag } from './support/stack.js';
import { testTime } from './support/time.js';

let stack: TestStack;
beforeAll(async () => {
  stack = await TestStack.create();
}, testTime(120_000));
afterAll(async () => {
  await stack?.stop();
});

interface LogLine {
  level: string;
  time: string;
  name: string;
  msg: string;
  runner_id?: string;
  run_id?: string;
  event?: string;
  status?: string;
  component?: string;
}

/** Every line the process wrote that is a JSON object, parsed. */
const jsonLines = (raw: string): LogLine[] =>
  raw
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as LogLine);

describe('logs off a terminal', () => {
  it('are JSON lines from the runner, with its runner_id on each and the run_id where a run is concerned', async () => {
    const tag = uniqueTag('json-logs');
    const runner = await stack.startRunner({ tags: [tag] });
    const done = await stack.postRun({ agent: 'echo', prompt: 'log me', additional_demands: { tags: [tag] } });
    const failed = await stack.postRun({ agent: 'echo', parameters: { exit_code: 3 }, additional_demands: { tags: [tag] } });
    expect((await stack.waitForRun(done)).status).toBe('completed');
    expect((await stack.waitForRun(failed)).status).toBe('failed');
    // The failed activity is the Temporal SDK's to log, a warning, through the runner's logger.
    const lines = await eventually(() => {
      const lines = jsonLines(runner.process.rawOutput);
      if (!lines.some((line) => line.component === 'temporal-sdk')) throw new Error('no line from the Temporal SDK yet');
      return lines;
    }, testTime(30_000));

    // Nothing else: no human line, no colour.
    const written = runner.process.rawOutput.split('\n').filter((line) => line.trim());
    expect(written.filter((line) => !line.startsWith('{'))).toEqual([]);
    expect(runner.process.rawOutput).not.toContain('\x1b[');
    for (const line of lines) {
      expect(line).toMatchObject({ name: 'runner', runner_id: runner.runnerId });
      expect(new Date(line.time).toISOString()).toBe(line.time);
    }
    expect(lines.find((line) => line.msg.startsWith(`runner ${runner.runnerId} registered`))).toMatchObject({ level: 'info' });
    expect(lines.find((line) => line.event === 'run_started' && line.run_id === done)).toMatchObject({ level: 'info' });
    expect(lines.find((line) => line.event === 'run_ended' && line.run_id === done)).toMatchObject({ level: 'info', status: 'completed' });
    expect(lines.find((line) => line.event === 'run_ended' && line.run_id === failed)).toMatchObject({ level: 'error', status: 'failed' });
    expect(lines.find((line) => line.component === 'temporal-sdk')?.level).toMatch(/^(warn|error)$/);
  });

  it('are JSON lines from the API and the control worker', () => {
    const [api, control] = [stack.processes.find((process) => process.name === 'api')!, stack.processes.find((process) => process.name === 'control')!];
    expect(jsonLines(api.rawOutput).find((line) => line.msg.startsWith('api listening on http://'))).toMatchObject({ name: 'api', level: 'info' });
    expect(jsonLines(control.rawOutput).find((line) => line.msg.startsWith('control worker polling'))).toMatchObject({ name: 'control', level: 'info' });
  });
});

describe('logs on a terminal', () => {
  let terminal: IPty | undefined;
  afterAll(() => {
    terminal?.kill('SIGKILL');
  });

  it('keep the human format: coloured lines, no JSON', async () => {
    const tag = uniqueTag('tty-logs');
    const projectDir = await fs.mkdtemp(path.join(stack.root, 'project-'));
    const dataDir = await fs.mkdtemp(path.join(stack.root, 'runner-data-'));
    let output = '';
    const pty = spawnPty(
      process.execPath,
      ['--import', 'tsx', path.join(repoRoot, 'workers/runner.ts'), '--profile', 'echo', '--tags', tag, '--project-dir', projectDir, '--data-dir', dataDir, '--api-url', stack.apiUrl, '--drain-seconds', '5'],
      {
        cwd: repoRoot,
        cols: 200,
        rows: 50,
        // No AO_LOG_FORMAT: the terminal alone decides.
        env: { ...withoutLogFormat(process.env), TEMPORAL_ADDRESS: inject('temporalAddress'), TEMPORAL_NAMESPACE: stack.namespace, AO_API_TOKEN: stack.runnerToken, TERM: 'xterm-256color' },
      },
    );
    terminal = pty;
    pty.onData((data) => {
      output += data;
    });
    await eventually(() => {
      if (!/runner \S+ registered/.test(output)) throw new Error(`not registered yet:\n${output}`);
    }, testTime(60_000));
    const id = await stack.postRun({ agent: 'echo', prompt: 'on a terminal', additional_demands: { tags: [tag] } });
    expect((await stack.waitForRun(id)).status).toBe('completed');
    await eventually(() => {
      if (!output.includes(`completed\x1b[0m ${id} after`)) throw new Error(`no coloured end line yet:\n${output}`);
    }, testTime(30_000));
    expect(output).toContain(`\x1b[36m▶ run\x1b[0m ${id}`);
    expect(output).not.toMatch(/\{"level"/);
    pty.kill('SIGTERM');
    await eventually(() => {
      if (!/runner \S+: stopped/.test(output)) throw new Error('not stopped yet');
    }, testTime(30_000));
  });
});

function withoutLogFormat(env: NodeJS.ProcessEnv): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => entry[0] !== 'AO_LOG_FORMAT' && entry[1] !== undefined));
}
