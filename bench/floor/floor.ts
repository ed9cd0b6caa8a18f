import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import * as activities from './activities.js';
import { FLOOR_ACTIVITY_QUEUE, floorWorkflow } from './workflow.js';

const WORKFLOW_QUEUE = 'bench.floor.workflow';

/**
 * The floor dispatch is judged against, on the same server in the same run: start a workflow →
 * its one activity starts on a worker polling its own queue. One worker for the workflow, one for
 * the activity, as ao has a control worker and a runner. Answers one latency (ms) per run,
 * measured one run at a time.
 */
export async function measureFloor(address: string, namespace: string, runs: number): Promise<number[]> {
  // Quiet workers: the bench prints figures, not the SDK's start and stop notes.
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const native = await NativeConnection.connect({ address });
  const workflowWorker = await Worker.create({ connection: native, namespace, taskQueue: WORKFLOW_QUEUE, workflowsPath: fileURLToPath(new URL('./workflow.ts', import.meta.url)) });
  const activityWorker = await Worker.create({ connection: native, namespace, taskQueue: FLOOR_ACTIVITY_QUEUE, activities });
  const running = Promise.all([workflowWorker.run(), activityWorker.run()]);
  const connection = await Connection.connect({ address });
  const client = new Client({ connection, namespace });
  const latencies: number[] = [];
  try {
    // One unmeasured run first: the workers' first tasks include their startup.
    for (let index = 0; index <= runs; index += 1) {
      const before = Date.now();
      const handle = await client.workflow.start(floorWorkflow, { taskQueue: WORKFLOW_QUEUE, workflowId: `floor-${process.pid}-${index}-${before}` });
      const startedAt = await handle.result();
      if (index > 0) latencies.push(startedAt - before);
    }
  } finally {
    workflowWorker.shutdown();
    activityWorker.shutdown();
    await running;
    await connection.close();
    await native.close();
  }
  return latencies.sort((a, b) => a - b);
}
