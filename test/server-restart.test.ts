import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { freePort, startDevServer, type DevServer } from '../temporal-config/dev-server.js';
import { runGate } from './support/gates.js';
import { TestStack, eventually } from './support/stack.js';
import { testTime } from './support/time.js';

// This file needs a Temporal server it may restart, so it starts its own besides the shared one.
let server: DevServer | undefined;
let stack: TestStack | undefined;
let dataDir: string | undefined;
afterAll(async () => {
  await stack?.stop();
  await server?.stop();
  if (dataDir) await fs.rm(dataDir, { recursive: true, force: true });
});

describe('when the Temporal server restarts in the middle of a run', () => {
  it('the run finishes once the server is back', async () => {
    dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'ao-restart-'));
    const port = await freePort();
    const cli = inject('temporalCli');
    server = await startDevServer({ cli, dataDir, port });
    stack = await TestStack.create({ temporalAddress: server.address });
    await stack.startRunner();
    // Held until the server is back, so the restart falls in the middle of the run.
    const held = await runGate(stack.root);
    const id = await stack.postRun({ agent: 'echo', parameters: held.parameters });
    await stack.waitForRun(id, (run) => run.status === 'running');

    await server.stop();
    // The same port again: on a busy machine the old server's sockets may not be released yet, and the new one
    // exits at once ("exited early"); it is started again until it holds the port, as an operator would.
    const serverDir = dataDir;
    server = await eventually(() => startDevServer({ cli, dataDir: serverDir, port }), testTime(60_000), 500);
    await held.open();

    const run = await stack.waitForRun(id, undefined, testTime(120_000));
    expect(run.status).toBe('completed');
    expect(run.result).toMatchObject({ echo: { parameters: held.parameters } });
  });
});
