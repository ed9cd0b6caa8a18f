import { FLAG_NAME } from '../../core/contract/procedural-parameters.js';
import type { ExecutorOutput } from '../../core/contract/executor-protocol.js';
import { ExecutorConfigError } from './cli-support.js';
import type { ExecutorAdapter } from './contract.js';

const argText = (value: unknown): string => (typeof value === 'string' ? value : JSON.stringify(value));

/**
 * Parameters as argv: `--key value`; `true` → `--key`; `false` and null omitted;
 * lists → `--key a,b,c`; objects → `--key <json>`. Each value is one argv element, never shell text.
 * A value that starts with `-` is passed as `--key=value`, so no parser can take it for an option.
 */
export function parametersToArgv(parameters: Record<string, unknown>): string[] {
  const argv: string[] = [];
  for (const [key, value] of Object.entries(parameters)) {
    if (!FLAG_NAME.test(key)) throw new ExecutorConfigError(`parameter name "${key}" cannot be a command-line flag (use letters, digits, "_" and "-")`);
    if (value === false || value === null || value === undefined) continue;
    if (value === true) {
      argv.push(`--${key}`);
      continue;
    }
    const text = Array.isArray(value) ? value.map(argText).join(',') : argText(value);
    if (text.startsWith('-')) argv.push(`--${key}=${text}`);
    else argv.push(`--${key}`, text);
  }
  return argv;
}

function parseJson(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false };
  }
}

const tail = (text: string, lines = 10): string => text.trim().split('\n').slice(-lines).join('\n');

/** A result's `alerts`: the strings among them (a script's result is its own). */
function alertsOf(value: unknown): string[] | undefined {
  const alerts = value !== null && typeof value === 'object' ? (value as { alerts?: unknown }).alerts : undefined;
  return Array.isArray(alerts) ? alerts.filter((alert): alert is string => typeof alert === 'string').slice(0, 100).map((alert) => alert.slice(0, 2000)) : undefined;
}

/**
 * Procedural runs: a synced script (or the agent's runner-local command) with the parameters as
 * argv, on a terminal so its output streams as it is printed. JSON on stdout is the result;
 * anything else is reported as `{ return_code, stdout, stderr }`. A script that fails with a JSON
 * object on stdout (the patrol) keeps it as the failed run's result; its `alerts` strings become
 * `alert` events either way.
 */
export const proceduralAdapter: ExecutorAdapter = {
  // Input is typed on its terminal at once (no turns, so nothing to steer or interrupt: a stop ends it).
  capabilities: { resume: false, structured_events: false, cost: false, approvals: false, input: true, steer: true, interrupt: false },
  terminal: 'pty',
  defaultCommand: () => undefined,
  plan: (invocation, command) => ({ argv: [...command, ...parametersToArgv(invocation.parameters)], stdin: '' }),
  interpret: (outcome): ExecutorOutput => {
    const json = outcome.stdout.trim() ? parseJson(outcome.stdout.trim()) : { ok: false as const };
    const alerts = json.ok ? alertsOf(json.value) : undefined;
    if (outcome.exitCode !== 0) {
      const how = outcome.exitCode === null ? `was killed by ${outcome.signal ?? 'a signal'}` : `exited with code ${outcome.exitCode}`;
      const reported = json.ok && json.value !== null && typeof json.value === 'object' ? (json.value as { error?: unknown }).error : undefined;
      const cause = typeof reported === 'string' ? reported : tail(outcome.stderr) || tail(outcome.stdout);
      return {
        status: 'failed',
        error: `script ${how}${cause ? `: ${cause}` : ''}`,
        ...(json.ok && json.value !== null && typeof json.value === 'object' ? { result_data: json.value } : {}),
        ...(alerts?.length ? { alerts } : {}),
      };
    }
    return {
      status: 'completed',
      result_data: json.ok ? json.value : { return_code: outcome.exitCode, stdout: outcome.stdout, stderr: outcome.stderr },
      ...(alerts?.length ? { alerts } : {}),
    };
  },
};
