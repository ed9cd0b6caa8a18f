import { z } from 'zod';
import { Approval, type DecideApprovalRequest } from '../../../core/contract/approvals';
import { RunEvent } from '../../../core/contract/events';
import { Agent, Script } from '../../../core/contract/config-files';
import {
  AgentList,
  AgentListing,
  CreateRunResponse,
  EventPage,
  ProfileList,
  ProfileListing,
  RunList,
  RunSummary,
  RunView,
  RunnerList,
  SessionView,
  ScriptList,
  ScriptListing,
  ScriptSummary,
  StopRunResponse,
  type BrokenFile,
  type CreateRunRequest,
  type CreateScriptRequest,
  type ListRunsQuery,
  type UpdateAgentRequest,
  type UpdateScriptRequest,
} from '../../../core/contract/http';
import { EXECUTOR_TYPES } from '../../../core/contract/executor-profile';
import { RUNNER_STATUSES, RunnerView } from '../../../core/contract/fleet';
import { FleetOverview } from '../../../core/contract/fleet-overview';
import { DeliveryList, NotificationList, NotificationView, type CreateNotificationRequest, type UpdateNotificationRequest } from '../../../core/contract/notifications';
import { LiveCommandResponse, SendInputResponse } from '../../../core/contract/runner-commands';
import { CreatedToken, TokenList, USER_ROLES, RUNNER_ROLE, type CreateTokenRequest } from '../../../core/contract/identity';

/**
 * Response shapes of the API as the dashboard reads them: the core/ schemas the API itself uses
 * (runs, runners, agents, scripts, profiles, events), wrapped in the envelopes the routes answer
 * with. Responses are parsed, so a drifted API fails loudly, not with blank cells.
 */

export {
  Approval,
  Agent,
  AgentList,
  AgentListing,
  CreateRunResponse,
  EXECUTOR_TYPES,
  EventPage,
  FleetOverview,
  ProfileList,
  ProfileListing,
  RUNNER_STATUSES,
  RunEvent,
  RunList,
  RunSummary,
  RunView,
  RunnerList,
  RunnerView,
  SessionView,
  Script,
  ScriptList,
  ScriptListing,
  ScriptSummary,
  StopRunResponse,
  LiveCommandResponse,
  SendInputResponse,
  CreatedToken,
  DeliveryList,
  NotificationList,
  NotificationView,
  RUNNER_ROLE,
  TokenList,
  USER_ROLES,
};
export type { CreateTokenRequest, DecideApprovalRequest };
/** `POST /notifications` body and `PATCH /notifications/:name` body. */
export type NotificationInput = z.input<typeof CreateNotificationRequest>;
export type NotificationPatch = z.input<typeof UpdateNotificationRequest>;
export type { Delivery, NotificationEvent } from '../../../core/contract/notifications';
export { NOTIFICATION_EVENTS } from '../../../core/contract/notifications';
export type { TokenView } from '../../../core/contract/identity';
export type { Agent as AgentType } from '../../../core/contract/config-files';
export type { BrokenFile } from '../../../core/contract/http';
export type { RunnerStatus } from '../../../core/contract/fleet';
export type { WaitingDemand } from '../../../core/contract/fleet-overview';

/** Sets the fields given; `null` clears an optional one (`PATCH` bodies, api/routes/config.ts). */
type Patch<T> = { [K in keyof T]?: T[K] | null };

/** `PATCH /agents/:name`: any agent field but the name. */
export type AgentPatch = Patch<z.input<typeof UpdateAgentRequest>>;

/** `POST /scripts` body. */
export type ScriptInput = z.input<typeof CreateScriptRequest>;
/** `PATCH /scripts/:name` body. */
export type ScriptPatch = Patch<z.input<typeof UpdateScriptRequest>>;

export function isBroken<T extends object>(entry: T | BrokenFile): entry is BrokenFile {
  return 'error' in entry && typeof entry.error === 'string';
}

/** A `POST /runs` body. */
export type CreateRunBody = z.input<typeof CreateRunRequest>;

/** `GET /runs` filters as a query string carries them: the API's keys; it parses the values (`ListRunsQuery`). */
export type RunFilter = { [K in keyof ListRunsQuery]?: K extends 'limit' ? number : string };

export type { RunStatus } from '../../../core/contract/run-status';
export { PERSON_WAITING_STATUSES, isWaitingForPerson } from '../../../core/contract/run-status';
