import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { allSearchAttributeKeys } from '../core/contract/search-attributes.js';
import { findTemporalCli } from '../temporal-config/cli.js';
import { PortInUseError, freePort, startDevServer } from '../temporal-config/dev-server.js';
import { DEFAULT_RETENTION_DAYS } from '../temporal-config/namespace.js';

let dataDir: string;
beforeAll(async () => {
  dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'ao-devserver-'));
});
afterAll(async () => {
  await fs.rm(dataDir, { recursive: true, force: true });
});

describe('the dev server launcher', () => {
  it('keeps workflows in its SQLite file across a restart, with ao search attributes and raised retention', async () => {
    const cli = inject('temporalCli');
    const port = await freePort();
    const first = await startDevServer({ cli, dataDir, port });
    const workflowId = `persisted-${Date.now()}`;
    try {
      const connection = await Connection.connect({ address: first.address });
      const client = new Client({ connection });
      // No worker serves this queue: the workflow stays open, which is enough to find it again.
      await client.workflow.start('noSuchWorkflow', { workflowId, taskQueue: 'nobody-polls-this', args: [] });
      const { namespaceInfo, config } = await connection.workflowService.describeNamespace({ namespace: 'default' });
      expect(namespaceInfo?.name).toBe('default');
      expect(Number(config?.workflowExecutionRetentionTtl?.seconds)).toBe(DEFAULT_RETENTION_DAYS * 24 * 3600);
      const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace: 'default' });
      expect(Object.keys(customAttributes ?? {})).toEqual(expect.arrayContaining(allSearchAttributeKeys.map((key) => key.name)));
      await connection.close();
    } finally {
      await first.stop();
    }
    await expect(fs.stat(path.join(dataDir, 'temporal.db'))).resolves.toBeTruthy();

    const second = await startDevServer({ cli, dataDir, port });
    try {
      const connection = await Connection.connect({ address: second.address });
      const description = await new Client({ connection }).workflow.getHandle(workflowId).describe();
      expect(description.status.name).toBe('RUNNING');
      await connection.close();
    } finally {
      await second.stop();
    }
  });

  it('says which port is taken instead of failing obscurely', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const { port } = blocker.address() as net.AddressInfo;
    try {
      await expect(startDevServer({ cli: inject('temporalCli'), dataDir, port })).rejects.toThrow(PortInUseError);
    } finally {
      blocker.close();
    }
  });
});

describe('finding the Temporal CLI', () => {
  it('uses TEMPORAL_CLI first, and refuses one that is not executable', async () => {
    const cli = inject('temporalCli');
    await expect(findTemporalCli({ env: { TEMPORAL_CLI: cli, PATH: '' } })).resolves.toBe(cli);
    await expect(findTemporalCli({ env: { TEMPORAL_CLI: path.join(dataDir, 'missing'), PATH: '' } })).rejects.toThrow(/not an executable file/);
  });

  it('finds the CLI in the tools dir when it is not on PATH', async () => {
    const toolsDir = path.dirname(inject('temporalCli'));
    await expect(findTemporalCli({ env: { PATH: '' }, toolsDir, install: false })).resolves.toBe(path.join(toolsDir, 'temporal'));
  });
});
