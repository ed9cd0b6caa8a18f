import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import type { RunView } from '../core/contract/http.js';
import { freePort } from '../temporal-config/dev-server.js';
import { startTsProcess, type TestProcess } from './support/process.js';

let start: TestProcess | undefined;
let dataDir: string | undefined;
let apiPort: number;
let token: string;
afterAll(async () => {
  await start?.stop('SIGKILL');
  if (dataDir) await fs.rm(dataDir, { recursive: true, force: true });
});

const occurrences = (pattern: RegExp): RegExpMatchArray[] => [...start!.output.matchAll(new RegExp(pattern.source, 'g'))];

describe('npm start against an existing Temporal server', () => {
  it('brings up control worker, API and an echo runner that complete a run', async () => {
    // A data dir npm start makes itself, so its mode is npm start's doing.
    dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'ao-start-'));
    const ownDataDir = path.join(dataDir, 'data');
    apiPort = await freePort();
    start = startTsProcess('start', 'scripts/start.ts', [], {
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      TEMPORAL_NAMESPACE: `ao-start-${crypto.randomBytes(4).toString('hex')}`,
      AO_DATA_DIR: ownDataDir,
      // Beside the data dir, as the default .workspace is beside .data.
      AO_START_WORKSPACE: path.join(dataDir, 'workspace'),
      AO_API_PORT: String(apiPort),
      AO_WORKFLOW_BUNDLE: inject('workflowBundle'),
    });
    await start.waitFor(/\[api\] api listening/);
    await start.waitFor(/\[runner\] runner \S+ registered: profile echo/);
    await start.waitFor(/\[control\] control worker polling/);

    token = (await fs.readFile(path.join(ownDataDir, 'api-token'), 'utf8')).trim();
    // The token and everything else under the data dir are their owner's only.
    expect((await fs.stat(ownDataDir)).mode & 0o777).toBe(0o700);
    expect((await fs.stat(path.join(ownDataDir, 'api-token'))).mode & 0o777).toBe(0o600);
    const response = await fetch(`http://127.0.0.1:${apiPort}/runs?wait=true`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ agent: 'echo', prompt: 'from npm start' }),
    });
    const run = (await response.json()) as RunView;
    expect(run.status).toBe('completed');
    expect(run.result).toMatchObject({ echo: { prompt: 'from npm start' } });
    // Run as root here: the executor is the unprivileged user npm start made sure of, working outside the data dir.
    expect(start.output).toMatch(/\[start\] (created the )?executor user ao-executor/);
    expect(start.output).toMatch(/\[runner\] .*executors run as ao-executor \(uid \d+\)/);
    expect(run.result).toMatchObject({ workspace_dir: path.join(dataDir, 'workspace') });
  });

  it('restarts the API after kill -9, logs the crash, and the new one answers', async () => {
    const [, pid] = await start!.waitFor(/\[start\] api started \(pid (\d+)\)/);
    process.kill(Number(pid), 'SIGKILL');
    await start!.waitFor(/\[start\] api was killed by SIGKILL; restarting in \d+s/);
    await start!.waitFor(new RegExp(`\\[start\\] api started \\(pid (?!${pid}\\))\\d+\\)`));
    await start!.waitFor(/\[api\] api listening[\s\S]*\[api\] api listening/);
    expect(occurrences(/\[start\] api started/)).toHaveLength(2);
    const response = await fetch(`http://127.0.0.1:${apiPort}/runners`, { headers: { authorization: `Bearer ${token}` } });
    expect(response.status).toBe(200);
    // The other processes went on: nothing else was restarted.
    expect(occurrences(/\[start\] (control|runner) started/)).toHaveLength(2);
  });

  it('stops them all on Ctrl-C, and restarts none of them', async () => {
    start!.child.kill('SIGINT');
    const { code } = await start!.exited;
    expect(code).toBe(0);
    expect(start!.output).toContain('all stopped');
    expect(start!.output).toMatch(/\[runner\] runner \S+: stopped/);
    expect(occurrences(/\[start\] \S+ started/)).toHaveLength(4);
  });
});
