import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import type { Router } from 'express';
import { z } from 'zod';
import { Approval, DecideApprovalRequest } from '../../core/contract/approvals.js';
import { RunId, SessionId } from '../../core/contract/names.js';
import { LiveCommandResponse, SendInputRequest, SendInputResponse } from '../../core/contract/runner-commands.js';
import {
  CreateRunRequest,
  CreateRunResponse,
  ErrorBody,
  ListRunsQuery,
  RunList,
  RunView,
  SessionList,
  SessionView,
  StopRunRequest,
  StopRunResponse,
  type SessionSummary,
} from '../../core/contract/http.js';
import type { AuditLog } from '../audit-log.js';
import { HttpError } from '../errors.js';
import { ApiRoutes } from '../route.js';
import type { RunsService } from '../runs-service.js';
import { sessionView } from '../session-view.js';

export const RunParams = z.object({ id: RunId });
const WaitQuery = z.object({ wait: z.enum(['true', 'false']).optional() }).strict();
const SessionParams = z.object({ id: SessionId });
const ApprovalParams = z.object({ id: RunId, approval_id: z.string().min(1).max(100) });
const SessionsQuery = z.object({ limit: z.coerce.number().int().min(1).max(1000).default(200) }).strict();

const runNotFound = { description: 'no such run', schema: ErrorBody };

/** The live commands without a body: each a workflow update answered once the runner acted. */
const LIVE_COMMANDS = [
  ['interrupt', 'Interrupt the agent’s current turn', 'Ends the current turn and keeps the run and its session, which then waits for input (`POST /runs/:id/input`). 409 with the reason where the executor cannot (procedural runs have no turns).'],
  ['pause', 'Pause a run', 'Freezes every process of the run (its cgroup’s freezer, else SIGSTOP to its process group and the descendants found); the run shows `paused` and its timeout clock stands still.'],
  ['resume', 'Resume a paused run', 'Thaws the run’s processes; its timeout clock goes on from where it stopped.'],
] as const;

export function runsRouter(runs: RunsService, audit: AuditLog, registry: OpenAPIRegistry): Router {
  const routes = new ApiRoutes(registry);

  routes.post(
    '/runs',
    {
      summary: 'Start a run of an agent',
      access: 'operator',
      description:
        'Checks the parameters against the agent’s schema. With `?wait=true` answers once the run has ended. With `parent_run_id` the run is a child of that live run (a Temporal child workflow of it): stopped when its parent ends unless `detached`; refused with 409 `CHILD_LIMIT` past `AO_MAX_CHILD_DEPTH` levels or `AO_MAX_CHILDREN_PER_RUN` children, or `PARENT_NOT_LIVE`.',
      body: CreateRunRequest,
      query: WaitQuery,
      responses: {
        201: { description: 'the run was started; it is pending', schema: CreateRunResponse },
        200: { description: '`?wait=true`: the run as it ended', schema: RunView },
        404: { description: 'no such agent, no session to resume, or no such parent run', schema: ErrorBody },
        409: { description: 'the agent is inactive; or the parent run refuses the child (`CHILD_LIMIT`, `PARENT_NOT_LIVE`)', schema: ErrorBody },
        422: { description: 'the agent’s or its script’s file is broken', schema: ErrorBody },
      },
    },
    async ({ body, query, principal }) => {
      const { id } = await runs.create(body, principal.name);
      audit.record(principal, 'run.start', id, { agent: body.agent, ...(body.parent_run_id ? { parent_run_id: body.parent_run_id, detached: body.detached === true } : {}) });
      if (query.wait === 'true') return { status: 200, body: await runs.waitForEnd(id) };
      return { status: 201, body: { id, status: 'pending', url: `/runs/${id}` } };
    },
  );

  routes.get(
    '/runs',
    { summary: 'List runs, newest first', query: ListRunsQuery, responses: { 200: { description: 'a page of runs', schema: RunList } } },
    async ({ query }) => ({ body: await runs.list(query) }),
  );

  routes.get(
    '/runs/:id',
    { summary: 'A run: status, history, result or error', params: RunParams, responses: { 200: { description: 'the run', schema: RunView }, 404: runNotFound } },
    async ({ params }) => ({ body: await runs.get(params.id) }),
  );

  routes.post(
    '/runs/:id/stop',
    {
      summary: 'Stop a run',
      access: 'operator',
      description:
        'A pending run stops at once; a running (or paused) one is `stopping` until its processes are gone: SIGTERM, then a kill after the runner’s grace period; `graceful: false` kills them at once. The runner hears of it over the runner command path within milliseconds. With `?wait=true` answers once it has ended.',
      params: RunParams,
      query: WaitQuery,
      body: StopRunRequest.optional(),
      responses: {
        202: { description: 'the stop was accepted', schema: StopRunResponse },
        200: { description: '`?wait=true`: the run as it ended', schema: RunView },
        404: runNotFound,
        409: { description: 'the run has already ended, or is already stopping', schema: ErrorBody },
      },
    },
    async ({ params, query, body, principal }) => {
      const accepted = await runs.stop(params.id, principal.name, body?.reason, body?.graceful);
      const detail = { ...(body?.reason ? { reason: body.reason } : {}), ...(body?.graceful === false ? { graceful: false } : {}) };
      audit.record(principal, 'run.stop', params.id, Object.keys(detail).length ? detail : undefined);
      if (query.wait === 'true') return { status: 200, body: await runs.waitForEnd(params.id) };
      return { status: 202, body: { id: params.id, ...accepted } };
    },
  );

  routes.post(
    '/runs/:id/input',
    {
      summary: 'Send a message into a running run',
      access: 'operator',
      description:
        'A user message for the running agent session (Claude Code: folded into the current turn; Codex: `turn/steer` mid-turn; Gemini: held until the turn ends, answered 202) or a line typed on a procedural run’s terminal. Recorded as an `input_sent` event and a history entry with who sent it.',
      params: RunParams,
      body: SendInputRequest,
      responses: {
        200: { description: 'the executor took it: `{ delivered: true }`', schema: SendInputResponse },
        202: { description: 'held until the executor’s current turn ends: `{ queued: true }`', schema: SendInputResponse },
        404: runNotFound,
        409: { description: 'the run has ended, is not running yet, is stopping, or its executor takes no input', schema: ErrorBody },
      },
    },
    async ({ params, body, principal }) => {
      const reply = await runs.sendInput(params.id, body.text, principal.name);
      audit.record(principal, 'run.input', params.id, { characters: body.text.length, ...(reply.queued ? { queued: true } : {}) });
      return { status: reply.queued ? 202 : 200, body: reply };
    },
  );

  for (const [kind, summary, description] of LIVE_COMMANDS) {
    routes.post(
      `/runs/:id/${kind}`,
      {
        summary,
        access: 'operator',
        description,
        params: RunParams,
        responses: {
          200: { description: 'the runner acted on it; the run’s status now', schema: LiveCommandResponse },
          404: runNotFound,
          409: { description: 'refused, with the reason: the run has ended, is not running, or its executor cannot', schema: ErrorBody },
        },
      },
      async ({ params, principal }) => {
        const { status } = await runs.control(params.id, kind, principal.name);
        audit.record(principal, `run.${kind}`, params.id);
        return { body: { id: params.id, status } };
      },
    );
  }

  routes.post(
    '/runs/:id/approvals/:approval_id',
    {
      summary: 'Allow or deny a tool use a supervised run waits on',
      access: 'operator',
      description:
        'A workflow update: refused (409, with the reason) when the approval is not pending or has expired. Answers once the runner has passed the decision to the executor. `remember: true` allows the same tool (for shell tools: the same program) for the rest of the run.',
      params: ApprovalParams,
      body: DecideApprovalRequest,
      responses: {
        200: { description: 'the decision was taken; the approval as decided', schema: Approval },
        404: { description: 'no such run, or the run has no such approval', schema: ErrorBody },
        409: { description: 'the approval is not pending (decided, expired, withdrawn) or the run has ended', schema: ErrorBody },
      },
    },
    async ({ params, body, principal }) => {
      const approval = await runs.decideApproval(params.id, params.approval_id, body, principal.name);
      audit.record(principal, 'run.approval', params.id, { approval_id: params.approval_id, tool: approval.tool, decision: body.decision, ...(body.note ? { note: body.note } : {}), ...(body.remember ? { remember: true } : {}) });
      return { body: approval };
    },
  );

  routes.get(
    '/sessions',
    { summary: 'Sessions of the most recent runs', query: SessionsQuery, responses: { 200: { description: 'the sessions', schema: SessionList } } },
    async ({ query }) => {
      // Sessions are not stored apart: they are the runs grouped by their session id.
      const { runs: recent } = await runs.list({ limit: query.limit });
      const sessions = new Map<string, SessionSummary>();
      for (const run of recent) {
        const id = run.session_id ?? run.id;
        const entry = sessions.get(id);
        if (entry) entry.runs += 1;
        else sessions.set(id, { session_id: id, agent: run.agent, runs: 1, last_status: run.status, last_run_at: run.started_at });
      }
      return { body: { sessions: [...sessions.values()] } };
    },
  );

  routes.get(
    '/sessions/:id',
    {
      summary: 'A session: its runs (oldest first) with their branch, diff summary, status, usage and cost, and the total',
      params: SessionParams,
      responses: { 200: { description: 'the session', schema: SessionView }, 404: { description: 'no run has this session id', schema: ErrorBody } },
    },
    async ({ params }) => {
      const sessionRuns = await runs.sessionRuns(params.id);
      if (sessionRuns.length === 0) throw new HttpError(404, `session "${params.id}" does not exist`);
      // Branch, diff and usage are in each run's state, not in visibility.
      const views = await Promise.all(sessionRuns.map(async (summary) => ({ summary, view: await runs.get(summary.id) })));
      return { body: sessionView(params.id, views) };
    },
  );

  return routes.router;
}
