import crypto from 'node:crypto';
import os from 'node:os';
import { Client, Connection } from '@temporalio/client';
import { Context, heartbeat } from '@temporalio/activity';
import { NativeConnection, Worker } from '@temporalio/worker';
import type { RunnerRegistration } from '../core/contract/fleet.js';
import { installQuietRuntime } from './quiet-runtime.js';
import { FLEET_TASK_QUEUE, RUNNER_WORKFLOW_TYPE, registerRunnerSignal, runnerTaskQueue, runnerWorkflowId } from '../workflows/messages.js';

/** The tag every filler carries and no bench run demands: fillers are registered and online, never picked. */
export const FILLER_TAG = 'bench-filler';

export interface FleetFillers {
  stop(): Promise<void>;
}

/**
 * `count` extra runner identities hosted in this one process: each has its runner workflow
 * (registered as a real runner registers) and a worker on its own queue holding the presence
 * activity, so the fleet sees `count` more live runners. They carry FILLER_TAG and require matching
 * tags, so no bench run goes to them; what they measure is whether a pick costs anything per
 * registered runner. Script installs are acknowledged without files (fillers run nothing).
 */
export async function startFleetFillers(address: string, namespace: string, count: number): Promise<FleetFillers> {
  installQuietRuntime();
  const native = await NativeConnection.connect({ address });
  const connection = await Connection.connect({ address });
  const client = new Client({ connection, namespace });
  const workers: Worker[] = [];
  const running: Array<Promise<void>> = [];
  for (let index = 0; index < count; index += 1) {
    const runnerId = `filler-${index}-${crypto.randomBytes(3).toString('hex')}`;
    const instanceId = crypto.randomUUID();
    const installed: Record<string, { version: string; installed_at: string }> = {};
    const worker = await Worker.create({
      connection: native,
      namespace,
      taskQueue: runnerTaskQueue(runnerId),
      maxConcurrentActivityTaskPolls: 1,
      activities: {
        async holdPresence(): Promise<void> {
          const beat = (): void => heartbeat({ pid: process.pid, instance: instanceId, at: new Date().toISOString() });
          const timer = setInterval(beat, 2_000);
          beat();
          try {
            await Context.current().cancelled;
          } finally {
            clearInterval(timer);
          }
        },
        // eslint-disable-next-line @typescript-eslint/require-await
        async installScript({ name, version }: { name: string; version: string }) {
          return (installed[name] = { version, installed_at: new Date().toISOString() });
        },
        // eslint-disable-next-line @typescript-eslint/require-await
        async removeScript({ name }: { name: string }): Promise<void> {
          delete installed[name];
        },
        // eslint-disable-next-line @typescript-eslint/require-await
        async inspectScripts() {
          return { ...installed };
        },
      },
    });
    workers.push(worker);
    running.push(worker.run());
    const registration: RunnerRegistration = {
      runner_id: runnerId,
      hostname: os.hostname(),
      project_dir: `/nonexistent/${runnerId}`,
      executor_profile: 'echo',
      executor: { type: 'echo', config: {} },
      tags: [FILLER_TAG],
      require_matching_tags: true,
      capacity: 1,
      instance: { id: instanceId, pid: process.pid, started_at: new Date().toISOString() },
    };
    await client.workflow.signalWithStart(RUNNER_WORKFLOW_TYPE, {
      workflowId: runnerWorkflowId(runnerId),
      taskQueue: FLEET_TASK_QUEUE,
      args: [],
      signal: registerRunnerSignal,
      signalArgs: [registration],
    });
  }
  return {
    async stop() {
      for (const worker of workers) worker.shutdown();
      await Promise.allSettled(running);
      await connection.close();
      await native.close();
    },
  };
}
