import type { RunUsage } from '../../core/contract/usage.js';
import type { WorkspaceSummary } from '../../core/contract/workspace.js';
import type { Emit } from './context.js';
import type { Launch } from './launch.js';
import { ownCost } from './outcome.js';
import type { SupervisedOutcome } from './supervised-process.js';

/** How much of the executor's last message and of its output streams a run that did not complete keeps. */
const LAST_OUTPUT_CHARS = 4000;

/** What a run that failed or was stopped leaves to be shown: its workspace, and its result so far. */
export interface Aftermath {
  workspace?: WorkspaceSummary;
  result: Record<string, unknown>;
}

/** The run's events passed on, the executor's last assistant message kept (streamed deltas joined). */
export function lastMessageOf(emit: Emit): { emit: Emit; text(): string | undefined } {
  let last: string | undefined;
  let streaming = false;
  const tracked: Emit = (kind, data) => {
    if (kind === 'message' && data.role === 'assistant' && typeof data.text === 'string') {
      last = data.delta === true && streaming ? `${last ?? ''}${data.text}` : data.text;
      streaming = data.delta === true;
    } else if (kind === 'tool_call') {
      streaming = false;
    }
    emit(kind, data);
  };
  return { emit: tracked, text: () => last?.slice(-LAST_OUTPUT_CHARS) };
}

const isPlainObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * What a run that ended without completing had done: its usage and cost so far (from what the
 * executor reported before it ended), its last message and the tails of its output.
 */
export function aftermathOf(
  launch: Launch,
  supervised: SupervisedOutcome,
  workspace: WorkspaceSummary | undefined,
  lastMessage: string | undefined,
  metered: RunUsage,
  sessionCostBefore?: number,
): Aftermath {
  const { outcome } = supervised;
  let reported: Record<string, unknown> = {};
  try {
    const data = launch.adapter.interpret(outcome, launch.invocation).result_data;
    if (isPlainObject(data)) reported = data;
  } catch {
    // An output the adapter cannot read leaves no usage; the tails below still show it.
  }
  const priced = launch.adapter.capabilities.cost ? ownCost(reported, sessionCostBefore) : reported;
  const own = isPlainObject(priced) ? priced : {};
  // Ended before the CLI's own count (Claude's result line): what the run's meter added up from its calls.
  const counted = metered.input_tokens + metered.output_tokens + metered.cache_read_tokens > 0;
  const usage = own.usage ?? (counted ? metered : undefined);
  const cost = typeof own.cost_usd === 'number' ? own.cost_usd : counted ? metered.cost_usd : undefined;
  const text = lastMessage ?? (typeof reported.text === 'string' ? reported.text : undefined);
  return {
    ...(workspace ? { workspace } : {}),
    result: {
      ...(usage !== undefined ? { usage } : {}),
      ...(typeof cost === 'number' ? { cost_usd: cost } : {}),
      last_output: {
        ...(text ? { text: text.slice(-LAST_OUTPUT_CHARS) } : {}),
        stdout_tail: outcome.stdout.slice(-LAST_OUTPUT_CHARS),
        stderr_tail: outcome.stderr.slice(-LAST_OUTPUT_CHARS),
      },
    },
  };
}
