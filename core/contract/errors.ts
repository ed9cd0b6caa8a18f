/** Named domain errors: callers narrow with `instanceof`, never by message text. */

export class ProfileNotFoundError extends Error {
  constructor(readonly profile: string, readonly available: string[]) {
    super(`unknown executor profile "${profile}"; available: ${available.length ? available.join(', ') : '(none)'}`);
    this.name = 'ProfileNotFoundError';
  }
}

export class InvalidConfigFileError extends Error {
  constructor(readonly file: string, readonly problems: string[]) {
    super(`${file} is invalid: ${problems.join('; ')}`);
    this.name = 'InvalidConfigFileError';
  }
}

export class AgentNotFoundError extends Error {
  constructor(readonly agent: string) {
    super(`agent "${agent}" does not exist`);
    this.name = 'AgentNotFoundError';
  }
}

export class AgentInactiveError extends Error {
  constructor(readonly agent: string) {
    super(`agent "${agent}" is inactive and cannot be run`);
    this.name = 'AgentInactiveError';
  }
}

export class ParametersInvalidError extends Error {
  constructor(readonly problems: string[], readonly schema: unknown) {
    super(`parameters do not match the schema: ${problems.join('; ')}`);
    this.name = 'ParametersInvalidError';
  }
}

export class RunNotFoundError extends Error {
  constructor(readonly runId: string) {
    super(`run "${runId}" does not exist`);
    this.name = 'RunNotFoundError';
  }
}

/** Formats zod issues as "path: message" lines a user can act on. */
export function describeIssues(issues: ReadonlyArray<{ path: PropertyKey[]; message: string }>): string[] {
  return issues.map((issue) => (issue.path.length ? `${issue.path.map(String).join('.')}: ${issue.message}` : issue.message));
}

export class NotificationNotFoundError extends Error {
  constructor(readonly notification: string) {
    super(`notification "${notification}" does not exist`);
    this.name = 'NotificationNotFoundError';
  }
}

export class SessionNotResumableError extends Error {
  constructor(readonly sessionId: string) {
    super(`session "${sessionId}" has no earlier run with an executor session to resume`);
    this.name = 'SessionNotResumableError';
  }
}

export class ScriptNotFoundError extends Error {
  constructor(readonly script: string) {
    super(`script "${script}" does not exist`);
    this.name = 'ScriptNotFoundError';
  }
}

/** `POST /runs` asked for a pull request (`pull_request: true`) of an agent that defines none. */
export class PullRequestNotConfiguredError extends Error {
  constructor(readonly agent: string) {
    super(`agent "${agent}" defines no pull_request (its forge command), so its runs cannot open one: set the agent's pull_request, or leave the run's unset`);
    this.name = 'PullRequestNotConfiguredError';
  }
}

/** A change refused because of what already is: a name taken, or a script still used by agents. */
export class ConfigConflictError extends Error {
  constructor(message: string, readonly details?: Record<string, unknown>) {
    super(message);
    this.name = 'ConfigConflictError';
  }
}

/** A session with no runs, so there is nothing to resume. */
export class SessionNotFoundError extends Error {
  constructor(readonly sessionId: string) {
    super(`session "${sessionId}" has no runs to resume`);
    this.name = 'SessionNotFoundError';
  }
}

/** A stop the run's state refuses: it has already ended, or a stop was already requested. `type` says which. */
export class RunStopRefusedError extends Error {
  constructor(readonly runId: string, message: string, readonly type: string) {
    super(message);
    this.name = 'RunStopRefusedError';
  }
}

/** A live command (input, interrupt, pause, resume) the run refuses: ended, not running yet, or its executor cannot; `type` says which. */
export class RunCommandRefusedError extends Error {
  constructor(readonly runId: string, message: string, readonly type: string) {
    super(message);
    this.name = 'RunCommandRefusedError';
  }
}

/** A child run its parent refuses: past the depth or children limit (`CHILD_LIMIT`), or the parent has ended or is stopping; `type` says which. */
export class ChildRunRefusedError extends Error {
  constructor(readonly parentRunId: string, message: string, readonly type: string) {
    super(message);
    this.name = 'ChildRunRefusedError';
  }
}

/** A decision the run refuses: no such approval (`APPROVAL_NOT_FOUND`), or it is not pending or has expired. `type` says which. */
export class ApprovalRefusedError extends Error {
  constructor(readonly runId: string, readonly approvalId: string, message: string, readonly type: string) {
    super(message);
    this.name = 'ApprovalRefusedError';
  }
}

/** The caller's credential may not do this; `needed` says what may. */
export class ForbiddenError extends Error {
  constructor(message: string, readonly needed: string) {
    super(message);
    this.name = 'ForbiddenError';
  }
}

export class TokenNotFoundError extends Error {
  constructor(readonly token: string) {
    super(`token "${token}" does not exist`);
    this.name = 'TokenNotFoundError';
  }
}

/** A batch of more events than `POST /internal/events` takes at once. */
export class EventBatchTooLargeError extends Error {
  constructor(readonly count: number, readonly limit: number) {
    super(`a batch carries at most ${limit} events, this one ${count}: send them in smaller batches`);
    this.name = 'EventBatchTooLargeError';
  }
}

/** One event of a batch larger, as JSON, than the API stores; `index` is its place in the batch. */
export class EventTooLargeError extends Error {
  constructor(readonly index: number, readonly bytes: number, readonly limit: number) {
    super(`event ${index} of the batch is ${bytes} bytes as JSON, more than the ${limit} an event may be`);
    this.name = 'EventTooLargeError';
  }
}

export class RunnerNotFoundError extends Error {
  constructor(readonly runnerId: string) {
    super(`runner "${runnerId}" is not registered (never was, or was forgotten)`);
    this.name = 'RunnerNotFoundError';
  }
}

/** A forget the runner's state refuses: it is not offline, or still holds runs. */
export class RunnerForgetRefusedError extends Error {
  constructor(readonly runnerId: string, message: string) {
    super(message);
    this.name = 'RunnerForgetRefusedError';
  }
}

/** A `cursor` that is not a `next_cursor` this list gave out. */
export class InvalidCursorError extends Error {
  constructor() {
    super('cursor is not a next_cursor of this list');
    this.name = 'InvalidCursorError';
  }
}

/** A run of this id exists already (a redelivered trigger event): nothing new was started. */
export class RunAlreadyExistsError extends Error {
  constructor(readonly runId: string) {
    super(`run "${runId}" exists already`);
    this.name = 'RunAlreadyExistsError';
  }
}

export class ScheduleNotFoundError extends Error {
  constructor(readonly schedule: string) {
    super(`schedule "${schedule}" does not exist`);
    this.name = 'ScheduleNotFoundError';
  }
}

export class TriggerNotFoundError extends Error {
  constructor(readonly trigger: string) {
    super(`trigger "${trigger}" does not exist`);
    this.name = 'TriggerNotFoundError';
  }
}

export class FlowNotFoundError extends Error {
  constructor(readonly flow: string) {
    super(`flow "${flow}" does not exist`);
    this.name = 'FlowNotFoundError';
  }
}

export class FlowRunNotFoundError extends Error {
  constructor(readonly flowRunId: string) {
    super(`flow run "${flowRunId}" does not exist`);
    this.name = 'FlowRunNotFoundError';
  }
}

/** A stop the flow run refused (it has ended, or a stop is under way). */
export class FlowStopRefusedError extends Error {
  constructor(readonly flowRunId: string, message: string) {
    super(message);
    this.name = 'FlowStopRefusedError';
  }
}
