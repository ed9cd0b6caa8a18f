import type { BaseExecutorConfig } from '../../core/contract/executor-profile.js';

/** What every executor gets from the runner's environment: enough to run programs, nothing secret. */
export const EXECUTOR_BASE_ENV = ['PATH', 'HOME', 'LANG', 'LC_ALL', 'LC_CTYPE', 'TERM', 'TZ', 'USER', 'LOGNAME', 'SHELL', 'TMPDIR'] as const;

/** ao's own invocation variables, set for every executor. */
export interface InvocationVariables {
  AO_RUN_ID: string;
  AO_WORKSPACE_DIR: string;
  /** Agent CLIs: the runner's synced scripts, `<dir>/<name>/<file>`, for an agent that runs them as tools. */
  AO_SCRIPTS_DIR?: string;
}

const pick = (from: NodeJS.ProcessEnv, names: readonly string[]): NodeJS.ProcessEnv =>
  Object.fromEntries(names.flatMap((name) => (from[name] === undefined ? [] : [[name, from[name]]])));

/**
 * The executor's environment, built up rather than filtered down: the base (with the executor
 * user's identity in place of the runner's, where they differ), then the runner's
 * variables the profile passes through, the profile's own values, ao's invocation variables, and
 * what the adapter prepared (e.g. an isolated settings `HOME`). Nothing else of the runner's
 * environment (its API token, Temporal settings, other secrets) reaches the executor.
 */
export function executorEnvironment(
  runnerEnv: NodeJS.ProcessEnv,
  config: Pick<BaseExecutorConfig, 'env' | 'env_passthrough'>,
  invocation: InvocationVariables,
  adapterEnv: NodeJS.ProcessEnv,
  /** The executor user's HOME, USER and LOGNAME, when it is not the runner's user. */
  identity: NodeJS.ProcessEnv = {},
): NodeJS.ProcessEnv {
  return {
    ...pick(runnerEnv, EXECUTOR_BASE_ENV),
    ...identity,
    ...pick(runnerEnv, config.env_passthrough ?? []),
    ...config.env,
    ...invocation,
    ...adapterEnv,
  };
}
