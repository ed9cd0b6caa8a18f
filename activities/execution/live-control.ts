import type { RunnerCommand, RunnerCommandReply } from '../../core/contract/runner-commands.js';
import type { Redactor } from '../../core/contract/secrets.js';
import type { ExecutorAdapter } from '../executors/contract.js';
import type { Emit } from './context.js';
import type { LiveExecutions } from './live-executions.js';
import type { ProcessControls } from './supervised-process.js';

export interface LiveControlSpec {
  runId: string;
  adapter: ExecutorAdapter;
  executorType: string;
  live: LiveExecutions;
  emit: Emit;
  redactor: Redactor;
  /** A conversing run's own handler: approvals, input and interrupt go there. */
  conversation?: (command: RunnerCommand) => RunnerCommandReply;
  /** Hears a stop as it reaches the runner (the stop latency is measured from here). */
  onStop?: () => void;
}

/** Why a command cannot reach the executor yet. */
const NOT_STARTED = 'the executor has not started yet';

/**
 * Holds one execution (of any executor type) in the runner's live executions, so every command
 * from its workflow reaches it: pause, resume and stop act on its processes; input and interrupt
 * go to its conversation, or input to its terminal (procedural runs). `attach` is called once the
 * process runs; `release` when it has ended.
 */
export function holdExecution(spec: LiveControlSpec): { attach: (controls: ProcessControls) => void; release: () => void } {
  let controls: ProcessControls | undefined;
  const { executorType: type } = spec;
  const input = (command: Extract<RunnerCommand, { kind: 'input' }>): RunnerCommandReply => {
    const reply = spec.conversation
      ? spec.conversation(command)
      : controls?.terminal && spec.adapter.capabilities.input
        ? typeOn(controls, command.text)
        : { delivered: false, reason: controls || !spec.adapter.capabilities.input ? `a ${type} executor takes no input while it runs` : NOT_STARTED };
    if (reply.delivered) spec.emit('input_sent', { text: spec.redactor.text(command.text), ...(command.by ? { by: command.by } : {}), queued: reply.queued === true });
    return reply;
  };
  const handle = (command: RunnerCommand): RunnerCommandReply => {
    switch (command.kind) {
      case 'input':
        return input(command);
      case 'approval_decision':
        return spec.conversation ? spec.conversation(command) : { delivered: false, reason: 'the run is not supervised' };
      case 'interrupt':
        if (spec.conversation) return spec.conversation(command);
        return { delivered: false, reason: `a ${type} run has no turn to interrupt: send it input, or stop it` };
      case 'pause':
      case 'resume': {
        if (!controls) return { delivered: false, reason: NOT_STARTED };
        const changed = command.kind === 'pause' ? controls.pause() : controls.resume();
        if (changed) spec.emit('state_changed', { phase: command.kind === 'pause' ? 'paused' : 'resumed', ...(command.by ? { by: command.by } : {}) });
        return changed ? { delivered: true } : { delivered: false, reason: command.kind === 'pause' ? 'the run is already paused or ending' : 'the run is not paused' };
      }
      case 'stop':
        if (!controls) return { delivered: false, reason: NOT_STARTED };
        spec.onStop?.();
        controls.stop(command.graceful);
        return { delivered: true };
    }
  };
  const unregister = spec.live.register(spec.runId, handle);
  return {
    attach: (given) => {
      controls = given;
    },
    release: unregister,
  };
}

/** A line typed on the executor's terminal, as a person would: the text, then Enter. */
function typeOn(controls: ProcessControls, text: string): RunnerCommandReply {
  try {
    controls.terminal!.write(`${text}\n`);
    return { delivered: true };
  } catch (error) {
    return { delivered: false, reason: `the executor's terminal is closed: ${(error as Error).message}` };
  }
}
