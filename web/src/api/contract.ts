import { z } from 'zod';
import { RunEvent } from '../../../core/contract/events';
import { Agent, Script } from '../../../core/contract/config-files';
import {
  CreateRunResponse,
  RunList,
  RunSummary,
  RunView,
  StopRunResponse,
  type CreateRunRequest,
  type CreateScriptRequest,
  type ListRunsQuery,
  type UpdateAgentRequest,
  type UpdateScriptRequest,
} from '../../../core/contract/http';
import { EXECUTOR_TYPES, ExecutorProfile } from '../../../core/contract/executor-profile';
import { RUNNER_STATUSES, RunnerView } from '../../../core/contract/fleet';
import { CreatedToken, TokenList, USER_ROLES, RUNNER_ROLE, type CreateTokenRequest } from '../../../core/contract/identity';

/**
 * Response shapes of the API as the dashboard reads them: the core/ schemas the API itself uses
 * (runs, runners, agents, scripts, profiles, events), wrapped in the envelopes the routes answer
 * with. Responses are parsed, so a drifted API fails loudly, not with blank cells.
 */

export { Agent, CreateRunResponse, CreatedToken, EXECUTOR_TYPES, RUNNER_ROLE, RUNNER_STATUSES, RunEvent, RunList, RunSummary, RunView, RunnerView, Script, StopRunResponse, TokenList, USER_ROLES };
export type { CreateTokenRequest };
export type { TokenView } from '../../../core/contract/identity';
export type { Agent as AgentType } from '../../../core/contract/config-files';
export type { RunnerStatus } from '../../../core/contract/fleet';

export const EventPage = z.object({ events: z.array(RunEvent), next_after: z.number().optional() });

export const RunnerList = z.object({ runners: z.array(RunnerView) });

/** A listing entry whose file could not be read: shown with its error, never hiding the others. */
const BrokenFile = z.object({ name: z.string(), file: z.string().optional(), error: z.string() });
export type BrokenFile = z.infer<typeof BrokenFile>;

export const ProfileListing = z.union([z.object({ name: z.string(), file: z.string(), profile: ExecutorProfile }), BrokenFile]);
export type ProfileListing = z.infer<typeof ProfileListing>;
export const ProfileList = z.object({ profiles: z.array(ProfileListing) });

export const AgentListing = z.union([Agent, BrokenFile]);
export type AgentListing = z.infer<typeof AgentListing>;
export const AgentList = z.object({ agents: z.array(AgentListing) });

/** Sets the fields given; `null` clears an optional one (`PATCH` bodies, api/routes/config.ts). */
type Patch<T> = { [K in keyof T]?: T[K] | null };

/** `PATCH /agents/:name`: any agent field but the name. */
export type AgentPatch = Patch<z.input<typeof UpdateAgentRequest>>;

/** `GET /scripts` entry: a script without its content. */
export const ScriptSummary = Script.omit({ script_content: true });
export type ScriptSummary = z.infer<typeof ScriptSummary>;
export const ScriptListing = z.union([ScriptSummary, BrokenFile]);
export type ScriptListing = z.infer<typeof ScriptListing>;
export const ScriptList = z.object({ scripts: z.array(ScriptListing) });

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
