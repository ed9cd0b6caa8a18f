import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { findTemporalCli } from '../temporal-config/cli.js';
import { startDevServer } from '../temporal-config/dev-server.js';
import { buildWorkflowBundle } from '../workers/workflow-bundle.js';
import { ensureDashboardBuilt } from '../web/build.js';
import { startPostgres } from './support/postgres.js';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
    temporalCli: string;
    workflowBundle: string;
    databaseUrl: string;
  }
}

/** One Temporal dev server, one PostgreSQL server, one workflow bundle and one dashboard build for the whole test run. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'ao-test-'));
  const cli = await findTemporalCli({ log: (line) => console.log(line) });
  const [server, bundle, postgres] = await Promise.all([startDevServer({ cli, dataDir: path.join(root, 'temporal') }), buildWorkflowBundle(), startPostgres()]);
  // Once per test run, before any test file: the API serves web/dist to the dashboard tests.
  await ensureDashboardBuilt((line) => console.log(line));
  const bundlePath = path.join(root, 'workflow-bundle.js');
  await fs.writeFile(bundlePath, bundle);
  project.provide('temporalAddress', server.address);
  project.provide('temporalCli', cli);
  project.provide('workflowBundle', bundlePath);
  project.provide('databaseUrl', postgres.url);
  return async () => {
    await Promise.all([server.stop(), postgres.stop()]);
    await fs.rm(root, { recursive: true, force: true });
  };
}
