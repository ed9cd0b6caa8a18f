import type { Client } from '@temporalio/client';
import { runHooks, describeHookFailure, type HookSettings } from '../activities/hooks.js';
import type { RunnerLog } from '../activities/runner-log.js';
import type { RunnerRegistration } from '../core/contract/fleet.js';
import { runnerWorkflowId, setRunnerHealthSignal } from '../workflows/messages.js';

/**
 * Runs the health_check hooks every `intervalMs` and tells the runner's workflow when the
 * verdict changes: an unhealthy runner takes no runs until a check passes again.
 */
export function startHealthChecks(options: {
  client: Client;
  registration: RunnerRegistration;
  hooks: HookSettings;
  intervalMs: number;
  log: RunnerLog;
}): { stop(): void } {
  const { client, registration, hooks, log } = options;
  let healthy = true;
  let running = false;
  const check = async (): Promise<void> => {
    if (running) return;
    running = true;
    try {
      const runs = await runHooks(hooks, 'health_check', { runner: registration }, registration.project_dir);
      const failed = runs.find((run) => !run.passed);
      for (const run of runs) log.hook(run);
      if (healthy === !failed) return;
      healthy = !failed;
      await client.workflow.getHandle(runnerWorkflowId(registration.runner_id)).signal(setRunnerHealthSignal, {
        instance_id: registration.instance.id,
        healthy,
        ...(failed ? { reason: describeHookFailure(failed) } : {}),
      });
      if (healthy) log.info('health check passes again: taking runs');
      else log.error(`health check failed, taking no runs: ${describeHookFailure(failed!)}`);
    } catch (error) {
      log.error(`health check could not run: ${(error as Error).message}`);
    } finally {
      running = false;
    }
  };
  void check();
  const timer = setInterval(() => void check(), options.intervalMs);
  return { stop: () => clearInterval(timer) };
}
