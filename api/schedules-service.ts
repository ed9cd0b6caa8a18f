import {
  ScheduleAlreadyRunning,
  ScheduleNotFoundError as TemporalScheduleNotFound,
  ScheduleOverlapPolicy,
  type Client,
  type ScheduleDescription,
  type ScheduleHandle,
  type ScheduleOptionsStartWorkflowAction,
  type ScheduleSpec,
} from '@temporalio/client';
import { ConfigConflictError, ScheduleNotFoundError } from '../core/contract/errors.js';
import {
  ScheduleDefinition,
  type CreateScheduleRequest,
  type OverlapPolicy,
  type ScheduledRun,
  type ScheduledRunInput,
  type ScheduleView,
  type UpdateScheduleRequest,
} from '../core/contract/schedules.js';
import { isRunStatus } from '../core/contract/run-status.js';
import { searchAttributes, visibility } from '../core/contract/search-attributes.js';
import { listExecutionsPage } from '../core/temporal/list-page.js';
import {
  CONTROL_TASK_QUEUE,
  RUN_WORKFLOW_TYPE,
  SCHEDULED_RUN_WORKFLOW_TYPE,
  runIdFromWorkflowId,
  scheduleId,
  scheduleNameFromId,
  scheduleOrigin,
  scheduleWorkflowId,
  scheduledRunId,
} from '../workflows/messages.js';
import { HttpError } from './errors.js';
import type { RunsService } from './runs-service.js';

/** Where ao keeps a schedule's definition: the memo of its action, which (unlike the schedule's own memo) an update may change. */
const DEFINITION_MEMO = 'ao_schedule';
/** How many recent runs a schedule's view shows (Temporal keeps the last 10 actions). */
const RECENT_RUNS = 10;
const NEXT_RUNS = 5;

const OVERLAP: Record<OverlapPolicy, ScheduleOverlapPolicy> = {
  skip: ScheduleOverlapPolicy.SKIP,
  buffer_one: ScheduleOverlapPolicy.BUFFER_ONE,
  buffer_all: ScheduleOverlapPolicy.BUFFER_ALL,
  allow_all: ScheduleOverlapPolicy.ALLOW_ALL,
};

export interface SchedulesServiceOptions {
  client: Client;
  runs: RunsService;
  namespace: string;
  temporalUiUrl: string;
}

/**
 * Schedules are Temporal Schedules (so they show in the Temporal UI too): each starts the
 * launcher workflow (workflows/scheduled-run.ts), which starts the run. Temporal is the store.
 */
export class SchedulesService {
  constructor(private readonly options: SchedulesServiceOptions) {}

  async create(request: CreateScheduleRequest, by: string): Promise<ScheduleView> {
    await this.checkTarget(request);
    const definition = ScheduleDefinition.parse({ ...withoutPaused(request), created_by: by, created_at: new Date().toISOString() });
    try {
      await this.options.client.schedule.create({
        scheduleId: scheduleId(request.name),
        spec: specOf(definition),
        action: this.actionOf(definition),
        policies: policiesOf(definition),
        state: { paused: request.paused, ...(request.note ? { note: request.note } : {}) },
      });
    } catch (error) {
      if (error instanceof ScheduleAlreadyRunning) throw new ConfigConflictError(`schedule "${request.name}" already exists; change it with PATCH /schedules/${request.name}`);
      throw invalidSpec(error);
    }
    return this.get(request.name);
  }

  async list(): Promise<ScheduleView[]> {
    const names: string[] = [];
    for await (const summary of this.options.client.schedule.list()) {
      if (summary.scheduleId.startsWith(scheduleId(''))) names.push(scheduleNameFromId(summary.scheduleId));
    }
    // Listing is eventually consistent: a schedule deleted a moment ago may still be listed.
    const views = await Promise.all(names.sort().map((name) => this.getIfExists(name)));
    return views.filter((view): view is ScheduleView => view !== undefined);
  }

  private async getIfExists(name: string): Promise<ScheduleView | undefined> {
    try {
      return await this.get(name);
    } catch (error) {
      if (error instanceof ScheduleNotFoundError) return undefined;
      throw error;
    }
  }

  async get(name: string): Promise<ScheduleView> {
    const description = await this.describe(name);
    const definition = definitionOf(description, name);
    return {
      ...definition,
      paused: description.state.paused,
      ...(description.state.note ? { note: description.state.note } : {}),
      next_runs: description.info.nextActionTimes.slice(0, NEXT_RUNS).map((time) => time.toISOString()),
      recent_runs: await this.recentRuns(name, description),
      missed_catchup: description.info.numActionsMissedCatchupWindow,
      skipped_overlap: description.info.numActionsSkippedOverlap,
      actions_taken: description.info.numActionsTaken,
      temporal_ui_url: `${this.options.temporalUiUrl}/namespaces/${encodeURIComponent(this.options.namespace)}/schedules/${encodeURIComponent(scheduleId(name))}`,
    };
  }

  /** Applies the given fields (`null` clears one); the result is checked whole, as on create. */
  async update(name: string, changes: UpdateScheduleRequest, by: string): Promise<ScheduleView> {
    const current = definitionOf(await this.describe(name), name);
    const merged: Record<string, unknown> = { ...current, updated_by: by, updated_at: new Date().toISOString() };
    for (const [key, value] of Object.entries(changes)) {
      if (value === null) delete merged[key];
      else if (value !== undefined) merged[key] = value;
    }
    const parsed = ScheduleDefinition.safeParse(merged);
    if (!parsed.success) throw parsed.error;
    const definition = parsed.data;
    await this.checkTarget(definition);
    try {
      await this.call(name, (handle) => handle.update((previous) => ({
        spec: specOf(definition),
        action: this.actionOf(definition),
        policies: { ...policiesOf(definition), pauseOnFailure: previous.policies.pauseOnFailure },
        state: { paused: previous.state.paused, ...(definition.note ? { note: definition.note } : {}) },
      })));
    } catch (error) {
      throw invalidSpec(error);
    }
    return this.get(name);
  }

  async pause(name: string, note?: string): Promise<ScheduleView> {
    await this.call(name, (handle) => handle.pause(note ?? 'paused through the ao API'));
    return this.get(name);
  }

  async unpause(name: string, note?: string): Promise<ScheduleView> {
    await this.call(name, (handle) => handle.unpause(note ?? 'unpaused through the ao API'));
    return this.get(name);
  }

  /** Starts a run now, whatever the timing says, under the schedule's own overlap policy. */
  async trigger(name: string): Promise<void> {
    const definition = definitionOf(await this.describe(name), name);
    await this.call(name, (handle) => handle.trigger(OVERLAP[definition.overlap]));
  }

  /** Deletes the schedule; runs it started go on. */
  async delete(name: string): Promise<void> {
    await this.call(name, (handle) => handle.delete());
  }

  private handle(name: string) {
    return this.options.client.schedule.getHandle(scheduleId(name));
  }

  private describe(name: string): Promise<ScheduleDescription> {
    return this.call(name, (handle) => handle.describe());
  }

  /** One call on the schedule's handle; Temporal's not-found is ours. */
  private async call<T>(name: string, work: (handle: ScheduleHandle) => Promise<T>): Promise<T> {
    try {
      return await work(this.handle(name));
    } catch (error) {
      if (error instanceof TemporalScheduleNotFound) throw new ScheduleNotFoundError(name);
      throw error;
    }
  }

  /** The agent must exist, be active and take the parameters, as for `POST /runs`; flows are not there yet. */
  private async checkTarget(target: Pick<ScheduleDefinition, 'agent' | 'flow' | 'parameters'>): Promise<void> {
    if (target.flow !== undefined) throw new HttpError(400, 'schedules of flows are not supported yet: flows do not exist in this version; give an agent');
    if (target.agent === undefined) throw new HttpError(400, 'a schedule needs an agent to run');
    await this.options.runs.checkRunnable(target.agent, target.parameters);
  }

  private actionOf(definition: ScheduleDefinition): ScheduleOptionsStartWorkflowAction<(input: ScheduledRunInput) => Promise<unknown>> {
    const input: ScheduledRunInput = {
      schedule: definition.name,
      agent: definition.agent!,
      parameters: definition.parameters,
      created_by: definition.updated_by ?? definition.created_by,
      ...(definition.prompt !== undefined ? { prompt: definition.prompt } : {}),
      ...(definition.additional_demands ? { additional_demands: definition.additional_demands } : {}),
      ...(definition.timeout_seconds ? { timeout_seconds: definition.timeout_seconds } : {}),
      ...(definition.base_ref ? { base_ref: definition.base_ref } : {}),
      ...this.options.runs.runDefaults,
    };
    return {
      type: 'startWorkflow',
      workflowType: SCHEDULED_RUN_WORKFLOW_TYPE,
      workflowId: scheduleWorkflowId(definition.name),
      taskQueue: CONTROL_TASK_QUEUE,
      args: [input],
      memo: { [DEFINITION_MEMO]: definition },
      staticSummary: `schedule ${definition.name}: ${definition.agent!}`,
    };
  }

  /**
   * The runs of the last starts, newest first: ids from the schedule's recent actions (each
   * launcher id gives its run id), outcomes from visibility.
   */
  private async recentRuns(name: string, description: ScheduleDescription): Promise<ScheduledRun[]> {
    const { allOf, attributeIs, workflowTypeIs } = visibility;
    const page = await listExecutionsPage(
      this.options.client,
      allOf(workflowTypeIs(RUN_WORKFLOW_TYPE), attributeIs(searchAttributes.origin, scheduleOrigin(name))),
      RECENT_RUNS * 2,
    );
    const known = new Map(page.executions.map((execution) => [runIdFromWorkflowId(execution.workflowId), execution]));
    return description.info.recentActions
      .slice(-RECENT_RUNS)
      .reverse()
      .map((action) => {
        const runId = scheduledRunId(name, action.action.workflow.workflowId);
        const execution = known.get(runId);
        const status = execution?.typedSearchAttributes.get(searchAttributes.runStatus);
        return {
          run_id: runId,
          scheduled_at: action.scheduledAt.toISOString(),
          started_at: action.takenAt.toISOString(),
          ...(isRunStatus(status) ? { status } : {}),
          ...(execution?.closeTime ? { closed_at: execution.closeTime.toISOString() } : {}),
        };
      });
  }
}

const withoutPaused = ({ paused: _paused, ...rest }: CreateScheduleRequest): Omit<CreateScheduleRequest, 'paused'> => rest;

function specOf(definition: ScheduleDefinition): ScheduleSpec {
  const { timing } = definition;
  if (timing.cron) return { cronExpressions: [timing.cron], ...(timing.timezone ? { timezone: timing.timezone } : {}) };
  return { intervals: [{ every: timing.interval_seconds! * 1000 }] };
}

function policiesOf(definition: ScheduleDefinition) {
  return { overlap: OVERLAP[definition.overlap], catchupWindow: definition.catchup_window_seconds * 1000 };
}

/** The definition ao stored with the schedule; a schedule not made by ao (no definition) is not one of ours. */
function definitionOf(description: ScheduleDescription, name: string): ScheduleDefinition {
  const memo = description.action.type === 'startWorkflow' ? description.action.memo?.[DEFINITION_MEMO] : undefined;
  const parsed = ScheduleDefinition.safeParse(memo);
  if (!parsed.success) throw new ScheduleNotFoundError(name);
  return parsed.data;
}

/**
 * Temporal refuses a spec it cannot read (a cron value out of range, an unknown time zone): the
 * client turns that INVALID_ARGUMENT into a TypeError with Temporal's reason. The caller's 400.
 */
function invalidSpec(error: unknown): unknown {
  if (error instanceof TypeError) return new HttpError(400, `Temporal refused the schedule's timing: ${error.message}`);
  return error;
}
