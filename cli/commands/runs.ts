import { InvalidArgumentError, Option, type Command } from 'commander';
import type { z } from 'zod';
import { CreateRunResponse, RunList, RunView, StopRunResponse, type CreateRunRequest } from '../../core/contract/http.js';
import { Approval, type DecideApprovalRequest } from '../../core/contract/approvals.js';
import { RUN_STATUSES } from '../../core/contract/run-status.js';
import { LiveCommandResponse, SendInputResponse } from '../../core/contract/runner-commands.js';
import { collect, contextOf, positiveInt } from '../context.js';
import { RUN_OUTCOME_EXIT } from '../exit-codes.js';
import { shortTime, type Output } from '../output.js';
import { followRun, printStoredEvents } from '../run-events.js';

const encode = encodeURIComponent;

/** `0 completed, 3 failed, 4 stopped`, for the help. */
const OUTCOME_CODES = Object.entries(RUN_OUTCOME_EXIT)
  .map(([status, code]) => `${code} ${status}`)
  .join(', ');

/** `-p key=value`: the value as JSON when it is JSON (`3`, `true`, `["a"]`, `{"x":1}`), else as the string it is. */
export function parseParameter(text: string, previous: Record<string, unknown> = {}): Record<string, unknown> {
  const equals = text.indexOf('=');
  if (equals <= 0) throw new InvalidArgumentError('give key=value');
  const key = text.slice(0, equals);
  const value = text.slice(equals + 1);
  let parsed: unknown = value;
  try {
    parsed = JSON.parse(value);
  } catch {
    // Not JSON: the string itself.
  }
  return { ...previous, [key]: parsed };
}

function printRun(out: Output, run: RunView): void {
  out.fields([
    ['run', run.id],
    ['agent', run.agent],
    ['status', run.status],
    ['pending', run.pending_reason],
    ['runner', run.runner_id],
    ['session', run.session_id],
    ['created', shortTime(run.created_at)],
    ['started', shortTime(run.executor_started_at)],
    ['error', run.error ? `${run.error.type}: ${run.error.message}` : undefined],
    ['branch', run.workspace?.branch],
    ['pull request', run.pull_request ? (run.pull_request.url ?? `opened for ${run.pull_request.branch} (no URL printed)`) : undefined],
    ['temporal', run.temporal_ui_url],
  ]);
  if (Object.keys(run.parameters).length) out.text(`parameters:\n${indent(JSON.stringify(run.parameters, null, 2))}`);
  if (run.result !== undefined) out.text(`result:\n${indent(JSON.stringify(run.result, null, 2))}`);
  out.text(`history:\n${run.history.map((change) => `  ${shortTime(change.at)}  ${change.status}${change.reason ? `  ${change.reason}` : ''}${change.by ? `  (by ${change.by})` : ''}`).join('\n')}`);
}

const indent = (text: string): string => text.replace(/^/gm, '  ');

export function registerRunCommands(program: Command): void {
  program
    .command('run')
    .description('start a run of an agent')
    .argument('<agent>', 'the agent to run')
    .option('-p, --param <key=value>', 'a parameter (repeatable); the value is parsed as JSON when it is JSON', parseParameter)
    .option('--prompt <text>', 'the prompt')
    .option('--tag <tag>', 'demand a runner tag (repeatable)', collect)
    .option('--timeout <seconds>', 'the run’s timeout', positiveInt)
    .option('--session <id>', 'the session the run belongs to')
    .option('--resume', 'continue the session’s executor session (needs --session)')
    .option('--base-ref <ref>', 'the git ref the run’s worktree starts from')
    .option('--no-pull-request', 'open no pull request at its end, though its agent defines one')
    .option('-f, --follow', `stream its events and exit with its outcome (${OUTCOME_CODES})`)
    .action(async (agent: string, options: RunOptions, command: Command) => {
      const { out, client } = contextOf(command);
      const body: z.input<typeof CreateRunRequest> = {
        agent,
        parameters: options.param ?? {},
        ...(options.prompt !== undefined ? { prompt: options.prompt } : {}),
        ...(options.tag?.length ? { additional_demands: { tags: options.tag } } : {}),
        ...(options.timeout !== undefined ? { timeout_seconds: options.timeout } : {}),
        ...(options.session ? { session_id: options.session } : {}),
        ...(options.resume ? { mode: 'resume' as const } : {}),
        ...(options.baseRef ? { base_ref: options.baseRef } : {}),
        ...(options.pullRequest === false ? { pull_request: false } : {}),
      };
      const created = await client.post('/runs', { body, schema: CreateRunResponse });
      if (options.follow) {
        out.progress(`run ${created.id} started; following its events (Ctrl-C stops following, not the run)`);
        process.exitCode = await followRun(client, out, created.id);
      } else if (out.json) out.data(created);
      else out.text(created.id);
    });

  program
    .command('runs')
    .description('list runs, newest first')
    .addOption(new Option('--status <status>', 'only runs with this status').choices(RUN_STATUSES))
    .option('--agent <name>', 'only runs of this agent')
    .option('--runner <id>', 'only runs on this runner')
    .option('--session <id>', 'only runs of this session')
    .option('--tag <tag>', 'only runs with this tag')
    .option('--limit <n>', 'at most this many (1-500)', positiveInt)
    .option('--cursor <cursor>', 'the next page: the previous answer’s next_cursor')
    .action(async (options: Record<string, string | number | undefined>, command: Command) => {
      const { out, client } = contextOf(command);
      const list = await client.get('/runs', { query: options, schema: RunList });
      if (out.json) return out.data(list);
      out.table(
        ['ID', 'AGENT', 'STATUS', 'RUNNER', 'STARTED', 'CLOSED'],
        list.runs.map((run) => [run.id, run.agent ?? '', run.status ?? '', run.runner_id ?? '', shortTime(run.started_at), shortTime(run.closed_at)]),
      );
      if (list.next_cursor) out.progress(`more: ao runs --cursor ${list.next_cursor}`);
    });

  program
    .command('show')
    .description('show a run: status, history, result or error')
    .argument('<run>', 'the run id')
    .action(async (runId: string, _options: unknown, command: Command) => {
      const { out, client } = contextOf(command);
      const run = await client.get(`/runs/${encode(runId)}`, { schema: RunView });
      if (out.json) out.data(run);
      else printRun(out, run);
    });

  program
    .command('logs')
    .description('print a run’s events (its output); with -f follow them live and exit with the run’s outcome')
    .argument('<run>', 'the run id')
    .option('-f, --follow', `stream until the run ends; exit ${OUTCOME_CODES}`)
    .action(async (runId: string, options: { follow?: boolean }, command: Command) => {
      const { out, client } = contextOf(command);
      if (options.follow) process.exitCode = await followRun(client, out, runId);
      else await printStoredEvents(client, out, runId);
    });

  program
    .command('stop')
    .description('stop a run')
    .argument('<run>', 'the run id')
    .option('--reason <text>', 'why (kept in its history)')
    .option('--now', 'kill its processes at once, without the SIGTERM grace period')
    .option('--wait', 'wait until it has ended, and show it')
    .action(async (runId: string, options: { reason?: string; now?: boolean; wait?: boolean }, command: Command) => {
      const { out, client } = contextOf(command);
      const body = { ...(options.reason ? { reason: options.reason } : {}), ...(options.now ? { graceful: false } : {}) };
      if (options.wait) {
        const run = await client.post(`/runs/${encode(runId)}/stop`, { query: { wait: 'true' }, body, schema: RunView });
        if (out.json) out.data(run);
        else out.text(`run ${run.id} ${run.status}`);
        return;
      }
      const accepted = await client.post(`/runs/${encode(runId)}/stop`, { body, schema: StopRunResponse });
      if (out.json) out.data(accepted);
      else out.text(`run ${accepted.id} ${accepted.status}`);
    });

  program
    .command('input')
    .description('send a message into a running run (an agent session, or a procedural run’s terminal)')
    .argument('<run>', 'the run id')
    .argument('<text>', 'the message')
    .action(async (runId: string, text: string, _options: unknown, command: Command) => {
      const { out, client } = contextOf(command);
      const reply = await client.post(`/runs/${encode(runId)}/input`, { body: { text }, schema: SendInputResponse });
      if (out.json) out.data(reply);
      else out.text(`run ${runId}: input ${reply.queued ? 'held until the current turn ends' : 'delivered'}`);
    });

  for (const [kind, description] of [
    ['interrupt', 'end the agent’s current turn; the run and its session wait for input'],
    ['pause', 'freeze every process of a running run; its timeout clock stops'],
    ['resume', 'let a paused run go on'],
  ] as const) {
    program
      .command(kind)
      .description(description)
      .argument('<run>', 'the run id')
      .action(async (runId: string, _options: unknown, command: Command) => {
        const { out, client } = contextOf(command);
        const reply = await client.post(`/runs/${encode(runId)}/${kind}`, { schema: LiveCommandResponse });
        if (out.json) out.data(reply);
        else out.text(`run ${reply.id} ${reply.status}`);
      });
  }

  for (const decision of ['allow', 'deny'] as const) {
    program
      .command(decision === 'allow' ? 'approve' : 'deny')
      .description(`${decision} a pending approval of a supervised run (the run page and GET /runs/:id list them)`)
      .argument('<run>', 'the run id')
      .argument('<approval>', 'the approval id')
      .option('--note <text>', decision === 'deny' ? 'told to the model, and kept in the run’s history' : 'kept in the run’s history')
      .option('--remember', 'the same tool (for shell tools: the same program) for the rest of the run without asking')
      .action(async (runId: string, approvalId: string, options: { note?: string; remember?: boolean }, command: Command) => {
        const { out, client } = contextOf(command);
        const body: DecideApprovalRequest = { decision, ...(options.note ? { note: options.note } : {}), ...(options.remember ? { remember: true } : {}) };
        const approval = await client.post(`/runs/${encode(runId)}/approvals/${encode(approvalId)}`, { body, schema: Approval });
        if (out.json) out.data(approval);
        else out.text(`approval ${approval.id} of run ${runId}: ${approval.status}${approval.decided_by ? ` by ${approval.decided_by}` : ''}`);
      });
  }
}

interface RunOptions {
  param?: Record<string, unknown>;
  prompt?: string;
  tag?: string[];
  timeout?: number;
  session?: string;
  resume?: boolean;
  baseRef?: string;
  /** False with `--no-pull-request`; commander sets it true otherwise, which is the agent's default, so it is not sent. */
  pullRequest?: boolean;
  follow?: boolean;
}
