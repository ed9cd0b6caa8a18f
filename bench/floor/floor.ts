import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { cpuPerRun, cpuSnapshot, type CpuRoles } from '../cpu.js';
import { installQuietRuntime } from '../quiet-runtime.js';
import * as activities from './activities.js';
import { FLOOR_ACTIVITY_QUEUE, floorWorkflow } from './workflow.js';

const WORKFLOW_QUEUE = 'bench.floor.workflow';

/**
 * The floor dispatch is judged against, on the same server in the same run: start a workflow →
 * its one activity starts on a worker polling its own queue. One worker for the workflow, one for
 * the activity, as ao has a control worker and a runner. Answers one latency (ms) per run, sorted,
 * measured `parallel` runs at a time (each of `parallel` clients starts its next run when its last one ended),
 * and with `cpu` where the CPU of those runs went (not the workers' startup: bundling the workflow is seconds).
 */
export async function measureFloor(address: string, namespace: string, runs: number, parallel = 1, cpu?: CpuRoles): Promise<{ latencies: number[]; cpu?: string }> {
  installQuietRuntime();
  const native = await NativeConnection.connect({ address });
  const workflowWorker = await Worker.create({ connection: native, namespace, taskQueue: WORKFLOW_QUEUE, workflowsPath: fileURLToPath(new URL('./workflow.ts', import.meta.url)) });
  const activityWorker = await Worker.create({ connection: native, namespace, taskQueue: FLOOR_ACTIVITY_QUEUE, activities });
  const running = Promise.all([workflowWorker.run(), activityWorker.run()]);
  const connection = await Connection.connect({ address });
  const client = new Client({ connection, namespace });
  const latencies: number[] = [];
  let cpuUsed: string | undefined;
  try {
    const one = async (label: string): Promise<number> => {
      const before = Date.now();
      const handle = await client.workflow.start(floorWorkflow, { taskQueue: WORKFLOW_QUEUE, workflowId: `floor-${process.pid}-${label}-${before}` });
      return (await handle.result()) - before;
    };
    // One unmeasured run first: the workers' first tasks include their startup.
    await one('warm-up');
    const cpuBefore = cpu && cpuSnapshot(cpu);
    let next = 0;
    await Promise.all(
      Array.from({ length: parallel }, async (_, client) => {
        while (next < runs) latencies.push(await one(`${client}-${(next += 1)}`));
      }),
    );
    if (cpuBefore) cpuUsed = cpuPerRun(cpuBefore, cpuSnapshot(cpu), runs);
  } finally {
    workflowWorker.shutdown();
    activityWorker.shutdown();
    await running;
    await connection.close();
    await native.close();
  }
  return { latencies: latencies.sort((a, b) => a - b), ...(cpuUsed ? { cpu: cpuUsed } : {}) };
}
