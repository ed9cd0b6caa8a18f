import { spawn } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { Client, Connection } from '@temporalio/client';
import type { Approval } from '../core/contract/approvals.js';
import type { RunView } from '../core/contract/http.js';
import { repoRoot } from '../core/config/paths.js';
import * as anthropic from '../test/support/scripted-anthropic.js';
import { supervisedConfig } from '../test/support/supervised-claude.js';
import { runWorkflowId } from '../workflows/messages.js';
import { percentile, startBenchStack } from './support.js';

/**
 * `npm run bench:approval`: BENCH_APPROVALS (20) approvals of one supervised Claude Code run (the
 * real CLI against the scripted Anthropic endpoint), answered one at a time through the API.
 * Measures decision (the `POST /runs/:id/approvals/:id` sent) → the tool executed (the file the
 * Bash tool creates appears in the runner's project dir, seen by inotify), and the POST's own
 * round trip (API → workflow update → the runner command activity → the CLI's stdin → answered).
 * The floor, measured in the same run: the same CLI driven directly over stream-json, from the
 * control_response written to its stdin → the same file appearing: what the CLI itself costs.
 */
const approvals = Number(process.env.BENCH_APPROVALS ?? 20);
const CLAUDE = path.join(repoRoot, 'node_modules', '.bin', 'claude');
const MODEL = 'claude-sonnet-4-5';

/** N Bash tool uses, one per turn, then a closing reply. */
const toolTurns = (prefix: string): anthropic.Turn[] => [
  ...Array.from({ length: approvals }, (_, index) => anthropic.callTool('Bash', { command: `touch ${prefix}-${index}.txt`, description: `Create ${prefix}-${index}.txt` })),
  anthropic.reply('Done.'),
];

/** Resolves when `file` appears in `dir` (inotify), with the time it was seen. */
function appears(dir: string, file: string): { seen: Promise<number>; close(): void } {
  let resolve!: (at: number) => void;
  const seen = new Promise<number>((done) => (resolve = done));
  const watcher = fs.watch(dir, (_event, name) => {
    if (name === file) resolve(performance.now());
  });
  // It may have appeared before the watch began.
  if (fs.existsSync(path.join(dir, file))) resolve(performance.now());
  return { seen, close: () => watcher.close() };
}

const cliEnv = (endpoint: string, home: string): NodeJS.ProcessEnv => ({
  PATH: process.env.PATH,
  HOME: home,
  ANTHROPIC_BASE_URL: endpoint,
  ANTHROPIC_API_KEY: 'bench-key',
  CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
});

/** Through ao: the run waits for each approval; the bench answers it and times the tool. */
async function throughAo(): Promise<{ toTool: number[]; roundTrip: number[]; read: number[]; queued: number[]; handed: number[] }> {
  const endpoint = await anthropic.startScriptedAnthropic(toolTurns('ao'));
  const stack = await startBenchStack({ runners: 0, capacity: 1 });
  const profiles = await fsp.mkdtemp(path.join(os.tmpdir(), 'ao-bench-profiles-'));
  try {
    await fsp.writeFile(path.join(profiles, 'supervised-bench.json'), JSON.stringify({ type: 'claude-code', command: [CLAUDE], config: supervisedConfig({ approval_timeout_seconds: 3600 }) }));
    const { projectDir } = await stack.startRunner({
      profile: 'supervised-bench',
      extraArgs: ['--profiles-dir', profiles],
      env: { ANTHROPIC_BASE_URL: endpoint.url, ANTHROPIC_API_KEY: 'bench-key', CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1' },
    });
    const call = async <T>(method: string, route: string, body?: unknown): Promise<T> =>
      (await (await fetch(`${stack.apiUrl}${route}`, { method, headers: stack.headers, ...(body ? { body: JSON.stringify(body) } : {}) })).json()) as T;
    const { id } = await call<{ id: string }>('POST', '/runs', { agent: 'coder', prompt: 'create the files' });
    const toTool: number[] = [];
    const roundTrip: number[] = [];
    const read: number[] = [];
    const decided = new Set<string>();
    for (let index = 0; index < approvals; index += 1) {
      let approval: Approval | undefined;
      while (!approval) {
        const asked = performance.now();
        const run = await call<RunView>('GET', `/runs/${id}`);
        read.push(performance.now() - asked);
        if (['completed', 'failed', 'stopped'].includes(run.status)) throw new Error(`the run ended ${run.status}: ${JSON.stringify(run.error)}`);
        approval = run.approvals?.find((entry) => entry.status === 'pending' && !decided.has(entry.id));
        if (!approval) await new Promise((resolve) => setTimeout(resolve, 5));
      }
      decided.add(approval.id);
      const watch = appears(projectDir, `ao-${index}.txt`);
      const sent = performance.now();
      const answer = await fetch(`${stack.apiUrl}/runs/${id}/approvals/${approval.id}`, { method: 'POST', headers: stack.headers, body: JSON.stringify({ decision: 'allow' }) });
      roundTrip.push(performance.now() - sent);
      if (answer.status !== 200) throw new Error(`the decision answered ${answer.status}: ${await answer.text()}`);
      toTool.push((await watch.seen) - sent);
      watch.close();
    }
    return { toTool, roundTrip, read, ...(await commandTimings(stack.temporalAddress, id)) };
  } finally {
    await stack.stop();
    await endpoint.close();
    await fsp.rm(profiles, { recursive: true, force: true });
  }
}

/**
 * Where the decision's time goes, from the run's history: each runner command activity from
 * scheduled to started (the runner's poll of its queue) and started to completed (handing the
 * decision to the CLI).
 */
async function commandTimings(address: string, runId: string): Promise<{ queued: number[]; handed: number[] }> {
  const connection = await Connection.connect({ address });
  try {
    const history = await new Client({ connection }).workflow.getHandle(runWorkflowId(runId)).fetchHistory();
    const at = (event: { eventTime?: { seconds?: unknown; nanos?: number | null } | null }): number =>
      Number(event.eventTime?.seconds ?? 0) * 1000 + (event.eventTime?.nanos ?? 0) / 1e6;
    const scheduled = new Map<string, number>();
    const started = new Map<string, number>();
    const queued: number[] = [];
    const handed: number[] = [];
    for (const event of history.events ?? []) {
      const id = String(event.eventId);
      if (event.activityTaskScheduledEventAttributes?.activityType?.name === 'deliverCommand') scheduled.set(id, at(event));
      const startedOf = event.activityTaskStartedEventAttributes?.scheduledEventId;
      if (startedOf !== undefined && startedOf !== null && scheduled.has(String(startedOf))) {
        started.set(String(startedOf), at(event));
        queued.push(at(event) - scheduled.get(String(startedOf))!);
      }
      const completedOf = event.activityTaskCompletedEventAttributes?.scheduledEventId;
      if (completedOf !== undefined && completedOf !== null && started.has(String(completedOf))) handed.push(at(event) - started.get(String(completedOf))!);
    }
    return { queued, handed };
  } finally {
    await connection.close();
  }
}

/** The floor: the same CLI, flags and endpoint, answered directly on its stdin. */
async function cliDirect(): Promise<number[]> {
  const endpoint = await anthropic.startScriptedAnthropic(toolTurns('cli'));
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'ao-bench-cli-'));
  const home = await fsp.mkdtemp(path.join(os.tmpdir(), 'ao-bench-home-'));
  const child = spawn(
    CLAUDE,
    ['-p', '--input-format', 'stream-json', '--permission-prompt-tool', 'stdio', '--output-format', 'stream-json', '--verbose', '--permission-mode', 'default', '--model', MODEL],
    { cwd: dir, env: cliEnv(endpoint.url, home), stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const times: number[] = [];
  try {
    const lines = readline.createInterface({ input: child.stdout });
    child.stdin.write(`${JSON.stringify({ type: 'user', message: { role: 'user', content: 'create the files' } })}\n`);
    let index = 0;
    for await (const line of lines) {
      const message = JSON.parse(line) as { type: string; request_id?: string; request?: { subtype: string; input?: unknown } };
      if (message.type === 'result') break;
      if (message.type !== 'control_request' || message.request?.subtype !== 'can_use_tool') continue;
      const watch = appears(dir, `cli-${index}.txt`);
      const sent = performance.now();
      child.stdin.write(`${JSON.stringify({ type: 'control_response', response: { subtype: 'success', request_id: message.request_id, response: { behavior: 'allow', updatedInput: message.request.input } } })}\n`);
      times.push((await watch.seen) - sent);
      watch.close();
      index += 1;
    }
    if (times.length !== approvals) throw new Error(`the CLI asked ${times.length} of ${approvals} times`);
    return times;
  } finally {
    const exited = new Promise((resolve) => (child.exitCode !== null ? resolve(undefined) : child.once('exit', resolve)));
    child.kill();
    // It writes its session files until it exits.
    await exited;
    await endpoint.close();
    await fsp.rm(dir, { recursive: true, force: true });
    await fsp.rm(home, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const floor = await cliDirect();
  const { toTool, roundTrip, read, queued, handed } = await throughAo();
  const ms = (value: number): string => `${value.toFixed(0)} ms`;
  const line = (label: string, values: number[]): string => {
    const sorted = [...values].sort((a, b) => a - b);
    return `  ${label} p50 ${ms(percentile(sorted, 50))}, p99 ${ms(percentile(sorted, 99))}`;
  };
  console.log(`approval bench: ${approvals} Bash approvals of one supervised Claude Code run (real CLI, scripted Anthropic endpoint), answered one at a time`);
  console.log(line('decision → tool executed, through ao (POST sent → file appears):', toTool));
  console.log(line('  of which the decision POST (accepted and handed to the CLI):  ', roundTrip));
  console.log(line('    runner command activity, scheduled → started:              ', queued));
  console.log(line('    runner command activity, started → completed:              ', handed));
  console.log(line('  GET /runs/:id (the API reads the run so before each decision):', read));
  console.log(line('floor: the CLI driven directly (control_response → file appears):', floor));
  console.log('  goal: p50 ≤ 200 ms through ao, including the CLI');
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
