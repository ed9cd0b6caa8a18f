import type { z, ZodType } from 'zod';
import { describeIssues } from '../../../core/contract/errors';
import {
  Approval,
  AgentList,
  Agent,
  CreateRunResponse,
  EventPage,
  FleetOverview,
  ProfileList,
  RunList,
  RunView,
  SessionView,
  RunnerList,
  Script,
  ScriptList,
  StopRunResponse,
  LiveCommandResponse,
  SendInputResponse,
  TokenList,
  CreatedToken,
  DeliveryList,
  NotificationList,
  NotificationView,
  type CreateTokenRequest,
  type NotificationInput,
  type NotificationPatch,
  type DecideApprovalRequest,
  type AgentPatch,
  type AgentType,
  type CreateRunBody,
  type RunFilter,
  type ScriptInput,
  type ScriptPatch,
} from './contract';
import { ScheduleList, ScheduleTriggered, ScheduleView } from '../../../core/contract/schedules';
import { UsageReport, type UsageGrouping } from '../../../core/contract/usage-report';
import { FlowList, FlowRunList, FlowRunView } from '../../../core/contract/flows';
import { ApiError, ApiUnreachableError, ConflictError, NotFoundError, UnauthorizedError, UnexpectedResponseError, type ErrorDetails } from './errors';

export interface ApiClientOptions {
  /** The bearer token to send, read at each call so a new one applies at once. */
  token: () => string | undefined;
  /** Called on every 401 with the token that request sent, before the error is thrown. */
  onUnauthorized?: (sent: string | undefined) => void;
  /** Where the API is. @defaultValue `''`: the dashboard's own origin, which is the API's (or Vite's proxy in dev). */
  baseUrl?: string;
}

export type { RunFilter } from './contract';

/** Options of the reading calls. */
export interface ReadOptions {
  /** Cancels the request: a page that no longer wants the answer (a newer filter, another run) aborts it. */
  signal?: AbortSignal;
}

interface RequestOptions<S extends ZodType | undefined> extends ReadOptions {
  body?: unknown;
  query?: Record<string, string | number | undefined>;
  schema?: S;
}

type Result<S> = S extends ZodType ? z.output<S> : undefined;

function errorFor(status: number, message: string, details: ErrorDetails): ApiError {
  switch (status) {
    case 401:
      return new UnauthorizedError(message);
    case 404:
      return new NotFoundError(message, details);
    case 409:
      return new ConflictError(message, details);
    default:
      return new ApiError(status, message, details);
  }
}

const encode = encodeURIComponent;

/** The typed HTTP client: one method per route, responses parsed with the shared schemas. */
export class ApiClient {
  constructor(private readonly options: ApiClientOptions) {}

  private headers(token: string | undefined, extra: Record<string, string> = {}): Record<string, string> {
    return { ...(token ? { authorization: `Bearer ${token}` } : {}), ...extra };
  }

  private url(path: string, query: Record<string, string | number | undefined> = {}): string {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) if (value !== undefined && value !== '') params.set(key, String(value));
    const search = params.toString();
    return `${this.options.baseUrl ?? ''}${path}${search ? `?${search}` : ''}`;
  }

  /** fetch with the token; network failures become ApiUnreachableError, 4xx/5xx an ApiError subclass. */
  async send(path: string, init: RequestInit & { query?: RequestOptions<undefined>['query'] } = {}): Promise<Response> {
    const { query, ...rest } = init;
    const sent = this.options.token();
    let response: Response;
    try {
      response = await fetch(this.url(path, query), { ...rest, headers: this.headers(sent, rest.headers as Record<string, string> | undefined) });
    } catch (error) {
      if (error instanceof DOMException && error.name === 'AbortError') throw error;
      throw new ApiUnreachableError(error);
    }
    if (response.ok) return response;
    const text = await response.text().catch(() => '');
    let message = text.trim() || `${response.status} ${response.statusText}`;
    let details: ErrorDetails = {};
    try {
      const body = JSON.parse(text) as { error?: unknown; details?: unknown };
      if (typeof body.error === 'string') message = body.error;
      if (body.details && typeof body.details === 'object') details = body.details as ErrorDetails;
    } catch {
      // Not JSON (a proxy's error page, say): the text itself is the message.
    }
    // A proxy in front of a stopped API answers 502/504: the API itself is unreachable.
    if (response.status === 502 || response.status === 504) throw new ApiUnreachableError(message);
    const error = errorFor(response.status, message, details);
    if (error instanceof UnauthorizedError) this.options.onUnauthorized?.(sent);
    throw error;
  }

  private async request<S extends ZodType | undefined = undefined>(method: string, path: string, options: RequestOptions<S> = {}): Promise<Result<S>> {
    const response = await this.send(path, {
      method,
      query: options.query,
      signal: options.signal,
      ...(options.body === undefined ? {} : { body: JSON.stringify(options.body), headers: { 'content-type': 'application/json' } }),
    });
    if (!options.schema) return undefined as Result<S>;
    const parsed = options.schema.safeParse(await response.json());
    if (!parsed.success) throw new UnexpectedResponseError(`${method} ${path}`, describeIssues(parsed.error.issues));
    return parsed.data as Result<S>;
  }

  listRuns(filter: RunFilter = {}, { signal }: ReadOptions = {}) {
    return this.request('GET', '/runs', { query: { ...filter }, schema: RunList, signal });
  }

  getRun(id: string, { signal }: ReadOptions = {}) {
    return this.request('GET', `/runs/${encode(id)}`, { schema: RunView, signal });
  }

  getSession(id: string, { signal }: ReadOptions = {}) {
    return this.request('GET', `/sessions/${encode(id)}`, { schema: SessionView, signal });
  }

  createRun(body: CreateRunBody) {
    return this.request('POST', '/runs', { body, schema: CreateRunResponse });
  }

  /** `graceful: false`: kill the run's processes at once, without the grace period. */
  stopRun(id: string, reason?: string, graceful = true) {
    return this.request('POST', `/runs/${encode(id)}/stop`, { body: { ...(reason ? { reason } : {}), ...(graceful ? {} : { graceful: false }) }, schema: StopRunResponse });
  }

  sendInput(id: string, text: string) {
    return this.request('POST', `/runs/${encode(id)}/input`, { body: { text }, schema: SendInputResponse });
  }

  controlRun(id: string, kind: 'interrupt' | 'pause' | 'resume') {
    return this.request('POST', `/runs/${encode(id)}/${kind}`, { schema: LiveCommandResponse });
  }

  decideApproval(id: string, approvalId: string, body: DecideApprovalRequest) {
    return this.request('POST', `/runs/${encode(id)}/approvals/${encode(approvalId)}`, { body, schema: Approval });
  }

  listRunEvents(id: string, after = 0) {
    return this.request('GET', `/runs/${encode(id)}/events`, { query: { after }, schema: EventPage });
  }

  /** `all`: runners offline for longer than the API's drop-off time too. */
  listRunners({ signal, all }: ReadOptions & { all?: boolean } = {}) {
    return this.request('GET', '/runners', { query: { all: all ? 'true' : undefined }, schema: RunnerList, signal });
  }

  forgetRunner(id: string) {
    return this.request('DELETE', `/runners/${encode(id)}`);
  }

  getFleetOverview({ signal }: ReadOptions = {}) {
    return this.request('GET', '/fleet/overview', { schema: FleetOverview, signal });
  }

  getUsage(groupBy: UsageGrouping, { signal }: ReadOptions = {}) {
    return this.request('GET', '/usage', { query: { group_by: groupBy }, schema: UsageReport, signal });
  }

  listProfiles({ signal }: ReadOptions = {}) {
    return this.request('GET', '/profiles', { schema: ProfileList, signal });
  }

  listAgents({ signal }: ReadOptions = {}) {
    return this.request('GET', '/agents', { schema: AgentList, signal });
  }

  getAgent(name: string, { signal }: ReadOptions = {}) {
    return this.request('GET', `/agents/${encode(name)}`, { schema: Agent, signal });
  }

  createAgent(agent: AgentType) {
    return this.request('POST', '/agents', { body: agent, schema: Agent });
  }

  updateAgent(name: string, patch: AgentPatch) {
    return this.request('PATCH', `/agents/${encode(name)}`, { body: patch, schema: Agent });
  }

  deleteAgent(name: string) {
    return this.request('DELETE', `/agents/${encode(name)}`);
  }

  listScripts({ signal }: ReadOptions = {}) {
    return this.request('GET', '/scripts', { schema: ScriptList, signal });
  }

  getScript(name: string, { signal }: ReadOptions = {}) {
    return this.request('GET', `/scripts/${encode(name)}`, { schema: Script, signal });
  }

  createScript(script: ScriptInput) {
    return this.request('POST', '/scripts', { body: script, schema: Script });
  }

  updateScript(name: string, patch: ScriptPatch) {
    return this.request('PATCH', `/scripts/${encode(name)}`, { body: patch, schema: Script });
  }

  deleteScript(name: string) {
    return this.request('DELETE', `/scripts/${encode(name)}`);
  }

  listNotifications({ signal }: ReadOptions = {}) {
    return this.request('GET', '/notifications', { schema: NotificationList, signal });
  }

  createNotification(body: NotificationInput) {
    return this.request('POST', '/notifications', { body, schema: NotificationView });
  }

  updateNotification(name: string, patch: NotificationPatch) {
    return this.request('PATCH', `/notifications/${encode(name)}`, { body: patch, schema: NotificationView });
  }

  deleteNotification(name: string) {
    return this.request('DELETE', `/notifications/${encode(name)}`);
  }

  listDeliveries(name: string, { signal }: ReadOptions = {}) {
    return this.request('GET', `/notifications/${encode(name)}/deliveries`, { schema: DeliveryList, signal });
  }

  listSchedules({ signal }: ReadOptions = {}) {
    return this.request('GET', '/schedules', { schema: ScheduleList, signal });
  }

  pauseSchedule(name: string) {
    return this.request('POST', `/schedules/${encode(name)}/pause`, { body: {}, schema: ScheduleView });
  }

  unpauseSchedule(name: string) {
    return this.request('POST', `/schedules/${encode(name)}/unpause`, { body: {}, schema: ScheduleView });
  }

  triggerSchedule(name: string) {
    return this.request('POST', `/schedules/${encode(name)}/trigger`, { schema: ScheduleTriggered });
  }

  deleteSchedule(name: string) {
    return this.request('DELETE', `/schedules/${encode(name)}`);
  }

  listFlows({ signal }: ReadOptions = {}) {
    return this.request('GET', '/flows', { schema: FlowList, signal });
  }

  listFlowRuns(flow?: string, { signal }: ReadOptions = {}) {
    return this.request('GET', '/flow-runs', { query: { flow }, schema: FlowRunList, signal });
  }

  getFlowRun(id: string, { signal }: ReadOptions = {}) {
    return this.request('GET', `/flow-runs/${encode(id)}`, { schema: FlowRunView, signal });
  }

  stopFlowRun(id: string) {
    return this.request('POST', `/flow-runs/${encode(id)}/stop`, { body: {} });
  }

  listTokens() {
    return this.request('GET', '/tokens', { schema: TokenList });
  }

  createToken(body: CreateTokenRequest) {
    return this.request('POST', '/tokens', { body, schema: CreatedToken });
  }

  revokeToken(name: string) {
    return this.request('DELETE', `/tokens/${encode(name)}`);
  }

  /** Opens the run's SSE stream; `lastEventId` makes the API replay only what came after it. */
  openRunEventStream(id: string, lastEventId: number, signal: AbortSignal): Promise<Response> {
    return this.send(`/runs/${encode(id)}/events`, {
      signal,
      headers: { accept: 'text/event-stream', ...(lastEventId > 0 ? { 'last-event-id': String(lastEventId) } : {}) },
    });
  }
}
