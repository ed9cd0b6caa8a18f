import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { CredentialStore, localRunnerToken } from '../api/credentials.js';
import { repoRoot } from '../core/config/paths.js';
import { findTemporalCli } from '../temporal-config/cli.js';
import { startDevServer } from '../temporal-config/dev-server.js';
import { buildWorkflowBundle } from '../workers/workflow-bundle.js';
import type { CpuRoles } from './cpu.js';
import { startNodeProcess, startTsProcess, type TestProcess } from '../test/support/process.js';

/** A runner the bench starts: its profile and arguments, and how node runs it (default: tsx, as `npm run runner`). */
export interface RunnerStart {
  profile: string;
  extraArgs?: string[];
  env?: NodeJS.ProcessEnv;
  /** Flags for node itself (e.g. V8 heap sizes). */
  nodeArgs?: string[];
  /** A prebuilt JavaScript entry point run by plain node instead of workers/runner.ts under tsx. */
  entry?: string;
}

/** What `npm run runner` and `runner:dist` give node (package.json): see README, Runners. */
export const RUNNER_NODE_FLAGS = ['--max-semi-space-size=1', '--v8-pool-size=1'];
/** glibc's malloc makes an arena per thread (the Temporal core's and node's): two are plenty for a runner. */
export const RUNNER_ENV = { MALLOC_ARENA_MAX: '2' };
/** A runner started as `npm run runner` starts it. */
export const NPM_RUN_RUNNER: Omit<RunnerStart, 'profile'> = { nodeArgs: RUNNER_NODE_FLAGS, env: RUNNER_ENV };

export interface BenchStack {
  apiUrl: string;
  /** The private dev server's address, for a floor measured on the same server. */
  temporalAddress: string;
  headers: Record<string, string>;
  /** Another runner, of any profile (`extraArgs` may name a profiles dir); returns its project dir once it has registered. */
  startRunner(options: RunnerStart): Promise<{ projectDir: string; pid: number }>;
  /** The bench's own folder: gates and project dirs live here. */
  root: string;
  /** The runner processes' pids, for their resident memory. */
  runnerPids: number[];
  /** The stack's processes by role (and the bench's own), for where the CPU goes. */
  cpuRoles(): CpuRoles;
  stop(): Promise<void>;
}

/**
 * The agent benches run: the echo agent in `temp` workspaces, which runs concurrently on a runner
 * (an echo run in `project` mode takes the project's one lock, so capacity would behave as 1).
 */
export const BENCH_AGENT = 'bench-echo';

/** A private dev server, control worker, API and `runners` echo runners (started as `runnerStart` says: tsx, node's defaults unless told), all real processes. */
export async function startBenchStack({ runners, capacity, runnerStart = {} }: { runners: number; capacity: number; runnerStart?: Omit<RunnerStart, 'profile'> }): Promise<BenchStack> {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'ao-bench-'));
  const processes: TestProcess[] = [];
  const server = await startDevServer({ cli: await findTemporalCli(), dataDir: path.join(root, 'temporal') });
  const stop = async (): Promise<void> => {
    await Promise.all(processes.map((child) => child.stop()));
    await server.stop();
    await fs.rm(root, { recursive: true, force: true });
  };
  try {
    const bundle = path.join(root, 'bundle.js');
    await fs.writeFile(bundle, await buildWorkflowBundle());
    const token = crypto.randomBytes(18).toString('base64url');
    // A copy of the shipped config: benchmarks may add scripts and agents, never to the checkout.
    const configDir = path.join(root, 'config');
    await fs.cp(path.join(repoRoot, 'config'), configDir, { recursive: true });
    const echo = JSON.parse(await fs.readFile(path.join(configDir, 'agents', 'echo', 'agent.json'), 'utf8')) as Record<string, unknown>;
    await fs.mkdir(path.join(configDir, 'agents', BENCH_AGENT));
    await fs.writeFile(path.join(configDir, 'agents', BENCH_AGENT, 'agent.json'), JSON.stringify({ ...echo, name: BENCH_AGENT, workspace_mode: 'temp' }, null, 2));
    const env = {
      TEMPORAL_ADDRESS: server.address,
      AO_DATA_DIR: path.join(root, 'data'),
      AO_CONFIG_DIR: configDir,
      AO_WORKFLOW_BUNDLE: bundle,
      AO_API_TOKEN: token,
      AO_API_PORT: '0',
    };
    // Runners hold a runner credential of their own, as npm start's does: a user token is refused.
    const runnerToken = localRunnerToken(CredentialStore.inDataDir(env.AO_DATA_DIR, token), path.join(root, 'runner-token'), 'bench-runners');
    const runnerEnv = (apiUrl: string) => ({ ...env, AO_API_URL: apiUrl, AO_API_TOKEN: runnerToken, AO_RUNNER_DATA_DIR: path.join(root, 'runner-data') });
    // BENCH_CONTROL_NODE_ARGS: flags for the control worker's node (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`, which NODE_OPTIONS refuses).
    const control = process.env.BENCH_CONTROL_NODE_ARGS ? startNodeProcess('control', [...process.env.BENCH_CONTROL_NODE_ARGS.split(' '), '--import', 'tsx', path.join(repoRoot, 'workers/control.ts')], env) : startTsProcess('control', 'workers/control.ts', [], env);
    const api = startTsProcess('api', 'api/server.ts', [], env);
    processes.push(control, api);
    await control.waitFor(/control worker polling/);
    const [, apiUrl] = await api.waitFor(/api listening on (\S+)/);
    const startRunner = async ({ profile, extraArgs = [], env: extraEnv = {}, nodeArgs, entry }: RunnerStart) => {
      const projectDir = await fs.mkdtemp(path.join(root, 'project-'));
      const args = ['--profile', profile, '--project-dir', projectDir, '--capacity', String(capacity), ...extraArgs];
      const runnerEnvironment = { ...runnerEnv(apiUrl!), ...extraEnv };
      const runner = nodeArgs || entry ? startNodeProcess('runner', [...(nodeArgs ?? []), ...(entry ? [entry] : ['--import', 'tsx', path.join(repoRoot, 'workers/runner.ts')]), ...args], runnerEnvironment) : startTsProcess('runner', 'workers/runner.ts', args, runnerEnvironment);
      processes.push(runner);
      await runner.waitFor(/registered/);
      return { projectDir, pid: runner.child.pid! };
    };
    for (let index = 0; index < runners; index += 1) await startRunner({ ...runnerStart, profile: 'echo' });
    const runnerProcessPids = (): number[] => processes.filter((child) => child.name === 'runner').map((child) => child.child.pid!);
    // The runner processes' pids, for their resident memory: those started later are not counted.
    const runnerPids = runnerProcessPids();
    const cpuRoles = (): CpuRoles => ({
      temporal: [server.process.pid!],
      control: [control.child.pid!],
      api: [api.child.pid!],
      runners: runnerProcessPids(),
      bench: [process.pid],
    });
    return { apiUrl: apiUrl!, temporalAddress: server.address, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, root, runnerPids, cpuRoles, startRunner, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

export const percentile = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
