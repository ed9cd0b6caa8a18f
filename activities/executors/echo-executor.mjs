#!/usr/bin/env node
// The echo executor: reads its invocation as JSON on stdin and answers with it.
// It speaks the executor contract every `command` in a profile must speak (see README),
// so it is both a fleet check and the reference implementation of that contract.
// Parameters: `sleep_ms` waits before answering, `exit_code` fails with that code,
// `spawn_grandchild` starts a long `sleep` child (to show a stop ends the whole process group),
// `spawn_escapee: "<label>"` starts a child in a session of its own that ignores SIGHUP and SIGTERM
// (`<label>` in its argv), to show that leaving the process group does not outlive a stop,
// `ignore_sigterm` makes a stop need its SIGKILL, `write_file: {path, content}` writes into the workspace,
// `ticks` prints that many timestamped lines (`ticks_per_interval` at a time, one batch due every `tick_interval_ms`
// from the first: a late timer is caught up, so the rate asked is the rate printed) for the events benchmark,
// `ticks_allowed_file` holds tick k back until that file holds a number greater than k, and
// `wait_for_file` holds the answer back until that file exists: tests hold a run that way, and let it
// go once their premise holds. A gate whose folder is gone fails the run (its test has ended).
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';

const GATE_POLL_MS = 50;

/**
 * Exits once everything written to stdout has reached the pipe: process.exit() with writes still
 * queued (a reader slower than the writer) would drop them, and lines the runner never saw are lost.
 */
function exitWhenWritten(code) {
  process.stdout.write('', () => process.exit(code));
}

/** Waits until `open()` holds, reading the gate file's folder each time: a gone folder fails the run. */
async function gate(file, open) {
  for (;;) {
    if (open()) return;
    if (!fs.existsSync(path.dirname(file))) {
      process.stderr.write(`echo executor: the folder of ${file} is gone, so nobody will open it\n`);
      process.exit(1);
    }
    await sleep(GATE_POLL_MS);
  }
}

/** How many ticks the file allows: the number it holds, 0 while it is missing or being written. */
function ticksAllowed(file) {
  try {
    return Number(fs.readFileSync(file, 'utf8').trim()) || 0;
  } catch {
    return 0;
  }
}

let input = '';
for await (const chunk of process.stdin) input += chunk;
const invocation = JSON.parse(input);
const parameters = invocation.parameters ?? {};
const sessionId = invocation.session_id ?? randomUUID();

if (parameters.ignore_sigterm) process.on('SIGTERM', () => process.stdout.write('echo executor: ignoring SIGTERM\n'));
process.stdout.write(`echo executor: run ${invocation.run_id} for agent ${invocation.agent?.name}, session ${sessionId}\n`);
if (parameters.spawn_grandchild) {
  const child = spawn('sleep', ['300'], { stdio: 'ignore' });
  process.stdout.write(`echo executor: grandchild pid ${child.pid}\n`);
}
if (typeof parameters.spawn_escapee === 'string') {
  const keepAlive = "process.on('SIGHUP', () => {}); process.on('SIGTERM', () => {}); setInterval(() => {}, 1000);";
  const child = spawn(process.execPath, ['-e', keepAlive, 'escapee', parameters.spawn_escapee], { detached: true, stdio: 'ignore' });
  child.unref();
  process.stdout.write(`echo executor: escapee pid ${child.pid}\n`);
}
if (parameters.write_file) {
  const target = path.resolve(invocation.workspace_dir, parameters.write_file.path);
  if (!target.startsWith(path.resolve(invocation.workspace_dir) + path.sep)) throw new Error('write_file must stay inside the workspace');
  fs.mkdirSync(path.dirname(target), { recursive: true });
  fs.writeFileSync(target, parameters.write_file.content);
  process.stdout.write(`echo executor: wrote ${parameters.write_file.path}\n`);
}
if (Number.isInteger(parameters.ticks)) {
  const ticksStartedAt = Date.now();
  const perInterval = parameters.ticks_per_interval ?? 1;
  for (let tick = 0; tick < parameters.ticks; tick += 1) {
    if (parameters.ticks_allowed_file) await gate(parameters.ticks_allowed_file, () => ticksAllowed(parameters.ticks_allowed_file) > tick);
    // The reader's pace: wait for the pipe to drain rather than queue the whole output in memory.
    if (!process.stdout.write(`tick ${tick} ${Date.now()}\n`)) await once(process.stdout, 'drain');
    if (parameters.tick_interval_ms && (tick + 1) % perInterval === 0) {
      const untilDue = ticksStartedAt + ((tick + 1) / perInterval) * parameters.tick_interval_ms - Date.now();
      if (untilDue > 0) await sleep(untilDue);
    }
  }
}
if (parameters.wait_for_file) await gate(parameters.wait_for_file, () => fs.existsSync(parameters.wait_for_file));
if (Number.isInteger(parameters.sleep_ms) && parameters.sleep_ms > 0) await sleep(parameters.sleep_ms);

if (Number.isInteger(parameters.exit_code) && parameters.exit_code !== 0) {
  process.stderr.write(`echo executor: failing with exit code ${parameters.exit_code} as asked\n`);
  exitWhenWritten(parameters.exit_code);
  await new Promise(() => undefined);
}

const result = {
  status: 'completed',
  session_id: sessionId,
  result_data: {
    echo: { prompt: invocation.prompt ?? null, parameters },
    agent: invocation.agent?.name,
    executor_type: invocation.executor_type,
    executor_config: invocation.executor_config,
    workspace_dir: invocation.workspace_dir,
    schema_version: invocation.schema_version,
    resumed_session: invocation.session_id ?? null,
  },
};
process.stdout.write(`${JSON.stringify(result)}\n`);
exitWhenWritten(0);
