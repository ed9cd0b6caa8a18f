import type { RunnerCommand, RunnerCommandReply } from '../../core/contract/runner-commands.js';

/** What a live execution does with a command from its run's workflow. */
export type CommandHandler = (command: RunnerCommand) => RunnerCommandReply;

/**
 * The executions this runner process holds, by run id: the far end of the runner command path.
 * The run workflow schedules `deliverCommand` on the runner's own queue; the activity finds the
 * execution here and hands it the command in memory, so it reaches the executor within
 * milliseconds instead of at the next heartbeat.
 */
export class LiveExecutions {
  private readonly handlers = new Map<string, CommandHandler>();

  /** Holds the execution until the returned function is called (when its process has ended). */
  register(runId: string, handler: CommandHandler): () => void {
    this.handlers.set(runId, handler);
    return () => {
      if (this.handlers.get(runId) === handler) this.handlers.delete(runId);
    };
  }

  deliver(runId: string, command: RunnerCommand): RunnerCommandReply {
    const handler = this.handlers.get(runId);
    if (!handler) return { delivered: false, reason: `run ${runId} has no live execution on this runner` };
    return handler(command);
  }
}
