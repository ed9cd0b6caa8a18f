import fs from 'node:fs/promises';
import path from 'node:path';
import type { RunFailureType } from '../../core/contract/failures.js';
import type { RunStatus } from '../../core/contract/run-status.js';
import type { RunView } from '../../core/contract/http.js';
import type { RunnerView } from '../../core/contract/fleet.js';
import type { Script } from '../../core/contract/config-files.js';
import { notifyWorkflowId, runWorkflowId, runnerWorkflowId } from '../../workflows/messages.js';
import { eventually, type TestStack } from '../../test/support/stack.js';
import { gitProject } from '../../test/support/git-project.js';
import { startWebhookReceiver } from '../../test/support/webhook-receiver.js';

/** A workflow to record once every scenario has run, and what it went through. */
export interface ScenarioRecord {
  scenario: string;
  workflowId: string;
  description: string;
}

/**
 * Tags keep each scenario's runs on its own runners. The stack is private to the recording, so
 * fixed names (not random ones) keep the recorded histories alike from one recording to the next.
 */
const TAGS = { main: 'replay-main', scripted: 'replay-scripted', handover: 'replay-handover', restart: 'replay-restart', nobody: 'replay-nobody', live: 'replay-live', children: 'replay-children' };
const SCRIPT = 'replay-argv';
const ARGV_SCRIPT = '#!/usr/bin/env node\nconsole.log(JSON.stringify({ args: process.argv.slice(2) }));\n';
const WAIT_COMMAND = 'wait.sh';
/** Reads one line from its terminal (after the end-of-file every run's stdin starts with) and prints it. */
const INPUT_SCRIPT = '#!/bin/sh\nread -r _ || true\nread -r line\necho "{\\"got\\": \\"$line\\"}"\n';
/** Long enough that the run is surely still going when it is stopped or its runner leaves. */
const HOLD_MS = 120_000;

class ScenarioError extends Error {
  constructor(scenario: string, problem: string) {
    super(`scenario ${scenario}: ${problem}`);
    this.name = 'ScenarioError';
  }
}

/**
 * Drives every scenario through the real API and runners of `stack`, checking that each reached
 * the state it is named after, and returns the workflows to record. Runner workflows are recorded
 * as they are at the end: the open runner is still online, the others drained, killed or restarted.
 */
export async function driveScenarios(stack: TestStack, log: (line: string) => void): Promise<ScenarioRecord[]> {
  const records: ScenarioRecord[] = [];
  const record = (scenario: string, workflowId: string, description: string): void => {
    log(`recorded ${scenario} (${workflowId})`);
    records.push({ scenario, workflowId, description });
  };
  /** Posts a run and waits until it ends with `status` (and `failure`), else names the scenario that went wrong. */
  const runToEnd = async (scenario: string, body: Record<string, unknown>, status: RunStatus, failure?: RunFailureType, baseUrl?: string): Promise<RunView> => {
    const posted = await stack.api<{ id: string }>('POST', '/runs', { body, ...(baseUrl ? { baseUrl } : {}) });
    if (posted.status !== 201) throw new ScenarioError(scenario, `POST /runs answered ${posted.status}: ${JSON.stringify(posted.body)}`);
    return expectEnd(scenario, await stack.waitForRun(posted.body.id, undefined, 120_000), status, failure);
  };
  const runnerView = async (runnerId: string): Promise<RunnerView | undefined> =>
    (await stack.api<{ runners: RunnerView[] }>('GET', '/runners')).body.runners.find((runner) => runner.runner_id === runnerId);
  const untilRunner = (runnerId: string, holds: (view: RunnerView | undefined) => boolean, what: string): Promise<unknown> =>
    eventually(async () => {
      if (!holds(await runnerView(runnerId))) throw new Error(`runner ${runnerId} is not ${what} yet`);
    }, 60_000);

  const main = await stack.startRunner({ tags: [TAGS.main] });
  const onMain = { additional_demands: { tags: [TAGS.main] } };

  // ── run workflows on the echo runner ──────────────────────────────────────
  const first = await runToEnd('run-echo-completed', { agent: 'echo', prompt: 'hello', parameters: { message: 'hi' }, session_id: 'replay-session', ...onMain }, 'completed');
  record('run-echo-completed', runWorkflowId(first.id), 'An echo run that completed: pending, dispatched, running, completed.');

  const resumed = await runToEnd('run-session-resumed', { agent: 'echo', prompt: 'again', session_id: 'replay-session', mode: 'resume', ...onMain }, 'completed');
  if (resumed.runner_id !== first.runner_id) throw new ScenarioError('run-session-resumed', 'the resumed run went to another runner');
  record('run-session-resumed', runWorkflowId(resumed.id), 'The second run of a session (mode resume): it demanded the first run’s runner and got its executor session id.');

  const holding = await stack.postRun({ agent: 'echo', parameters: { sleep_ms: HOLD_MS }, ...onMain });
  await stack.waitForRun(holding, (run) => run.status === 'running');
  const stopped = await stack.api<RunView>('POST', `/runs/${holding}/stop?wait=true`, { body: { reason: 'recording a stop' } });
  expectEnd('run-stopped-while-running', stopped.body, 'stopped', 'STOPPED');
  record('run-stopped-while-running', runWorkflowId(holding), 'An echo run stopped while its executor ran: running, stopping, stopped once its processes exited.');

  const waiting = await stack.postRun({ agent: 'echo', additional_demands: { tags: [TAGS.nobody] } });
  await stack.waitForRun(waiting, (run) => run.pending_reason !== undefined);
  await stack.api('POST', `/runs/${waiting}/stop`);
  expectEnd('run-stopped-while-pending', await stack.waitForRun(waiting), 'stopped', 'STOPPED');
  record('run-stopped-while-pending', runWorkflowId(waiting), 'A run no runner matched, stopped while pending, before any dispatch.');

  const failed = await runToEnd('run-executor-failed', { agent: 'echo', parameters: { exit_code: 3 }, ...onMain }, 'failed', 'EXECUTOR_FAILED');
  record('run-executor-failed', runWorkflowId(failed.id), 'An echo run whose executor exited with code 3: failed with EXECUTOR_FAILED.');

  // A second API with a short no-runner timeout, so this run need not wait the default 300 s.
  const impatientApi = await stack.startApi({ AO_NO_RUNNER_TIMEOUT_SECONDS: '1' });
  const unmatched = await runToEnd('run-no-runner', { agent: 'echo', additional_demands: { tags: [TAGS.nobody] } }, 'failed', 'NO_RUNNER', impatientApi);
  record('run-no-runner', runWorkflowId(unmatched.id), 'A run no runner matched within its no-runner timeout of 1 s: failed with NO_RUNNER.');

  // ── a procedural runner: script sync, a script run, a drain ──────────────
  const scripted = await stack.startRunner({ profile: 'procedural', tags: [TAGS.scripted], extraArgs: ['--drain-seconds', '1'] });
  const hasScript = (version: string | undefined) => (view: RunnerView | undefined) => view?.scripts[SCRIPT]?.version === version;
  const created = await stack.api<Script>('POST', '/scripts', { body: { name: SCRIPT, script_file: 'argv.mjs', script_content: ARGV_SCRIPT, demands: { tags: [TAGS.scripted] } } });
  await untilRunner(scripted.runnerId, hasScript(created.body.version), `holding ${SCRIPT} ${created.body.version}`);
  await stack.api('POST', '/agents', { body: { name: SCRIPT, type: 'procedural', script: SCRIPT } });
  const procedural = await runToEnd('run-procedural-script', { agent: SCRIPT, parameters: { name: 'Ada' } }, 'completed');
  record('run-procedural-script', runWorkflowId(procedural.id), 'A procedural run of a script synced to its runner, pinned to the script’s version.');

  const changed = await stack.api<Script>('PATCH', `/scripts/${SCRIPT}`, { body: { script_content: `${ARGV_SCRIPT}// v2\n` } });
  await untilRunner(scripted.runnerId, hasScript(changed.body.version), `holding ${SCRIPT} ${changed.body.version}`);
  await stack.api('DELETE', `/agents/${SCRIPT}`);
  await stack.api('DELETE', `/scripts/${SCRIPT}`);
  await untilRunner(scripted.runnerId, hasScript(undefined), `rid of ${SCRIPT}`);

  // A runner-local command holds the run while its runner drains: the run comes back pending, then is stopped.
  await fs.writeFile(path.join(scripted.projectDir, WAIT_COMMAND), `#!/bin/sh\nsleep ${HOLD_MS / 1000}\n`, { mode: 0o755 });
  const demands = { project_dir: scripted.projectDir, tags: [TAGS.scripted] };
  await stack.api('POST', '/agents', { body: { name: 'replay-wait', type: 'procedural', command: [`./${WAIT_COMMAND}`], demands } });
  const handedBack = await stack.postRun({ agent: 'replay-wait' });
  await stack.waitForRun(handedBack, (run) => run.status === 'running');
  await scripted.process.stop('SIGTERM');
  await stack.waitForRun(handedBack, (run) => run.status === 'pending' && run.history.some((change) => change.reason?.includes('shut down during the run')));
  await stack.api('POST', `/runs/${handedBack}/stop`);
  expectEnd('run-handed-back-then-stopped', await stack.waitForRun(handedBack), 'stopped', 'STOPPED');
  record('run-handed-back-then-stopped', runWorkflowId(handedBack), 'A procedural run whose runner drained on SIGTERM mid-run: handed back to pending (RUNNER_SHUTDOWN), then stopped there.');
  await untilRunner(scripted.runnerId, (view) => view?.offline_reason === 'runner shut down', 'shut down');
  record('runner-drained', runnerWorkflowId(scripted.runnerId), 'A procedural runner that registered, got a script created, updated and deleted (sync and remove signals), ran a script, and drained and deregistered on SIGTERM with a run in progress.');

  // ── runners killed with -9 ───────────────────────────────────────────────
  const doomed = await stack.startRunner({ tags: [TAGS.handover] });
  const moved = await stack.postRun({ agent: 'echo', parameters: { sleep_ms: 4_000 }, additional_demands: { tags: [TAGS.handover] } });
  await stack.waitForRun(moved, (run) => run.status === 'running');
  await doomed.process.stop('SIGKILL');
  const survivor = await stack.startRunner({ tags: [TAGS.handover] });
  const handedOver = expectEnd('run-handed-over-after-runner-killed', await stack.waitForRun(moved, undefined, 120_000), 'completed');
  if (handedOver.runner_id !== survivor.runnerId) throw new ScenarioError('run-handed-over-after-runner-killed', 'the run did not move to the surviving runner');
  record('run-handed-over-after-runner-killed', runWorkflowId(moved), 'An echo run whose runner was killed with -9 and did not come back within the dispatch timeout (3 s): handed to another runner, completed there.');
  await untilRunner(doomed.runnerId, (view) => view?.status === 'offline', 'offline');
  record('runner-killed', runnerWorkflowId(doomed.runnerId), 'An echo runner killed with -9 mid-run: its presence heartbeats stopped and it was marked offline.');

  const phoenix = await stack.startRunner({ tags: [TAGS.restart] });
  const resumedRun = await stack.postRun({ agent: 'echo', parameters: { sleep_ms: 5_000 }, additional_demands: { tags: [TAGS.restart] } });
  await stack.waitForRun(resumedRun, (run) => run.status === 'running');
  await phoenix.process.stop('SIGKILL');
  await stack.startRunner({ tags: [TAGS.restart], projectDir: phoenix.projectDir, dataDir: phoenix.dataDir });
  const comeBack = expectEnd('run-resumed-after-runner-restart', await stack.waitForRun(resumedRun, undefined, 120_000), 'completed');
  if (!comeBack.history.some((change) => change.reason?.includes('executor restarted after its runner came back'))) {
    throw new ScenarioError('run-resumed-after-runner-restart', 'the run did not resume on the restarted runner');
  }
  record('run-resumed-after-runner-restart', runWorkflowId(resumedRun), 'An echo run whose runner was killed with -9 and restarted with the same identity: the execute activity was retried there and the run completed.');
  record('runner-restarted', runnerWorkflowId(phoenix.runnerId), 'An echo runner killed with -9 and restarted with the same identity (a new instance registering), still online when recorded.');

  // ── live control, a queued run woken by a slot, a notification, a schedule (session 5's workflow paths) ──
  await stack.addScriptAgent({ name: 'replay-input', script_file: 'replay-input.sh', script_content: INPUT_SCRIPT });
  // A notification for the live runner's completed runs: a run's end starts a notify workflow only when one takes it.
  const receiver = await startWebhookReceiver();
  const notification = { name: 'replay-live', url: `${receiver.url}/replay`, secret: 'replay-notification-secret', events: ['run.completed'], tags: [TAGS.live] };
  const notified = await stack.api('POST', '/notifications', { body: notification });
  if (notified.status !== 201) throw new ScenarioError('run-end-notified', `POST /notifications answered ${notified.status}: ${JSON.stringify(notified.body)}`);
  const live = await stack.startRunner({ profile: 'procedural', tags: [TAGS.live], capacity: 1 });
  const controlled = await stack.postRun({ agent: 'replay-input', parameters: {}, additional_demands: { tags: [TAGS.live] } });
  await stack.waitForRun(controlled, (run) => run.status === 'running');
  const queued = await stack.postRun({ agent: 'replay-input', parameters: {}, priority: 5, additional_demands: { tags: [TAGS.live] } });
  await stack.waitForRun(queued, (run) => run.pending_reason !== undefined);
  for (const [command, body] of [['pause', undefined], ['resume', undefined], ['input', { text: 'recorded input' }]] as const) {
    const answer = await stack.api('POST', `/runs/${controlled}/${command}`, body ? { body } : {});
    if (answer.status !== 200) throw new ScenarioError('run-live-controlled', `POST ${command} answered ${answer.status}: ${JSON.stringify(answer.body)}`);
  }
  expectEnd('run-live-controlled', await stack.waitForRun(controlled), 'completed');
  record('run-live-controlled', runWorkflowId(controlled), 'A script run paused, resumed and given one line of input over the runner command path, then completed.');
  await stack.waitForRun(queued, (run) => run.status === 'running');
  await stack.api('POST', `/runs/${queued}/input`, { body: { text: 'the second run' } });
  expectEnd('run-woken-by-slot', await stack.waitForRun(queued), 'completed');
  record('run-woken-by-slot', runWorkflowId(queued), 'A run queued behind a full runner (capacity 1), woken by the slot grant when the first run ended.');
  await eventually(() => {
    if (receiver.to('/replay').length < 2) throw new Error('the notifications of the two runs have not arrived yet');
  }, 60_000);
  await stack.client.workflow.getHandle(notifyWorkflowId(queued, 'ended')).result();
  await stack.api('DELETE', '/notifications/replay-live');
  await receiver.close();
  record('run-end-notified', notifyWorkflowId(queued, 'ended'), 'The notify workflow a run’s end started for the one notification that takes it, which delivered it.');
  await live.process.stop('SIGTERM');

  await stack.api('POST', '/schedules', { body: { name: 'replay-hourly', timing: { interval_seconds: 3600 }, paused: true, agent: 'echo', prompt: 'scheduled', additional_demands: { tags: [TAGS.main] } } });
  await stack.api('POST', '/schedules/replay-hourly/trigger');
  const scheduled = await eventually(async () => {
    const view = (await stack.api<{ recent_runs: Array<{ run_id: string }> }>('GET', '/schedules/replay-hourly')).body;
    const runId = view.recent_runs[0]?.run_id;
    if (!runId) throw new Error('the schedule has not started its run yet');
    return runId;
  }, 60_000);
  expectEnd('run-scheduled', await stack.waitForRun(scheduled), 'completed');
  const launcher = (await stack.client.workflow.getHandle(runWorkflowId(scheduled)).describe()).parentExecution?.workflowId;
  if (!launcher) throw new ScenarioError('run-scheduled', 'the scheduled run has no launcher workflow as its parent');
  await stack.api('DELETE', '/schedules/replay-hourly');
  record('schedule-launcher', launcher, 'The launcher workflow a schedule’s trigger started, which ran its echo run as a child to the end.');
  record('run-scheduled', runWorkflowId(scheduled), 'An echo run started by a schedule, as the launcher’s child.');

  // ── child runs: a parent with one child that completed and one stopped with it ──
  // A git project: each run in its own worktree, so the children run beside their held parent.
  await stack.startRunner({ tags: [TAGS.children], capacity: 3, projectDir: await gitProject(await fs.mkdtemp(path.join(stack.root, 'replay-children-'))) });
  const onChildren = { additional_demands: { tags: [TAGS.children] } };
  const parent = await stack.postRun({ agent: 'echo', parameters: { sleep_ms: HOLD_MS }, ...onChildren });
  await stack.waitForRun(parent, (run) => run.status === 'running');
  const startChild = async (parameters: Record<string, unknown>): Promise<string> => {
    const posted = await stack.api<{ id: string }>('POST', '/runs', { body: { agent: 'echo', parameters, parent_run_id: parent, ...onChildren } });
    if (posted.status !== 201) throw new ScenarioError('run-parent-of-children', `POST /runs with parent_run_id answered ${posted.status}: ${JSON.stringify(posted.body)}`);
    return posted.body.id;
  };
  const finishedChild = await startChild({ message: 'from a child' });
  expectEnd('run-child-completed', await stack.waitForRun(finishedChild), 'completed');
  const heldChild = await startChild({ sleep_ms: HOLD_MS });
  await stack.waitForRun(heldChild, (run) => run.status === 'running');
  await stack.api('POST', `/runs/${parent}/stop?wait=true`, { body: { reason: 'recording a parent stop' } });
  expectEnd('run-child-stopped-with-parent', await stack.waitForRun(heldChild), 'stopped', 'STOPPED');
  expectEnd('run-parent-of-children', await stack.waitForRun(parent), 'stopped', 'STOPPED');
  record('run-parent-of-children', runWorkflowId(parent), 'An echo run that started two child runs (startChild update): one completed, the other was stopped with it when the parent was stopped.');
  record('run-child-completed', runWorkflowId(finishedChild), 'A child run that completed while its parent ran.');
  record('run-child-stopped-with-parent', runWorkflowId(heldChild), 'An attached child run stopped by its parent’s end (stopByParent signal).');

  record('runner-open', runnerWorkflowId(main.runnerId), 'The echo runner that took the echo runs above and got the script sync signals, still online when recorded: an open history.');
  return records;
}

function expectEnd(scenario: string, run: RunView, status: RunStatus, failure?: RunFailureType): RunView {
  if (run.status !== status || run.error?.type !== failure) {
    throw new ScenarioError(scenario, `expected ${status}${failure ? ` (${failure})` : ''}, the run ended ${run.status}: ${JSON.stringify(run.error ?? run.history)}`);
  }
  return run;
}
