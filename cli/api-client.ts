import type { z, ZodType } from 'zod';
import { describeIssues } from '../core/contract/errors.js';
import { ErrorBody } from '../core/contract/http.js';
import type { Connection } from './config.js';
import { ApiError, ApiUnreachableError, CliError, UnexpectedResponseError } from './errors.js';

type Query = Record<string, string | number | undefined>;

function withQuery(path: string, query: Query = {}): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) if (value !== undefined && value !== '') params.set(key, String(value));
  const search = params.toString();
  return `${path}${search ? `?${search}` : ''}`;
}

interface RequestOptions<S extends ZodType | undefined> {
  query?: Query;
  body?: unknown;
  /** The contract schema of the success answer; none for a 204. */
  schema?: S;
}

type Result<S> = S extends ZodType ? z.output<S> : undefined;

/** ao's HTTP API, typed by the contract: each answer is parsed with the schema the API answers with. */
export class ApiClient {
  constructor(private readonly connection: Connection) {
    if (!connection.token) throw new CliError(`no API token: ${connection.tokenSource}`);
  }

  get baseUrl(): string {
    return this.connection.apiUrl;
  }


  get<S extends ZodType | undefined>(path: string, options: RequestOptions<S> = {}): Promise<Result<S>> {
    return this.request('GET', path, options);
  }

  post<S extends ZodType | undefined>(path: string, options: RequestOptions<S> = {}): Promise<Result<S>> {
    return this.request('POST', path, options);
  }

  put<S extends ZodType | undefined>(path: string, options: RequestOptions<S> = {}): Promise<Result<S>> {
    return this.request('PUT', path, options);
  }

  patch<S extends ZodType | undefined>(path: string, options: RequestOptions<S> = {}): Promise<Result<S>> {
    return this.request('PATCH', path, options);
  }

  delete<S extends ZodType | undefined>(path: string, options: RequestOptions<S> = {}): Promise<Result<S>> {
    return this.request('DELETE', path, options);
  }

  /** Opens a run's event stream (SSE), resuming after `lastEventId`. */
  async openEventStream(runId: string, lastEventId: number, signal: AbortSignal): Promise<Response> {
    const response = await this.send('GET', `/runs/${encodeURIComponent(runId)}/events`, {
      headers: { accept: 'text/event-stream', 'last-event-id': String(lastEventId) },
      signal,
    });
    if (!response.ok) throw await this.errorOf(response);
    return response;
  }

  private async request<S extends ZodType | undefined>(method: string, path: string, options: RequestOptions<S>): Promise<Result<S>> {
    const response = await this.send(method, withQuery(path, options.query), {
      ...(options.body === undefined ? {} : { body: JSON.stringify(options.body), headers: { 'content-type': 'application/json' } }),
    });
    if (!response.ok) throw await this.errorOf(response);
    if (!options.schema) return undefined as Result<S>;
    const text = await response.text();
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch {
      throw new UnexpectedResponseError(`${method} ${path}`, ['not JSON']);
    }
    const parsed = options.schema.safeParse(raw);
    if (!parsed.success) throw new UnexpectedResponseError(`${method} ${path}`, describeIssues(parsed.error.issues));
    return parsed.data as Result<S>;
  }

  private async send(method: string, pathAndQuery: string, init: { body?: string; headers?: Record<string, string>; signal?: AbortSignal }): Promise<Response> {
    const url = `${this.connection.apiUrl}${pathAndQuery}`;
    try {
      return await fetch(url, {
        method,
        ...(init.body === undefined ? {} : { body: init.body }),
        ...(init.signal ? { signal: init.signal } : {}),
        headers: { authorization: `Bearer ${this.connection.token!}`, ...init.headers },
      });
    } catch (error) {
      if (init.signal?.aborted) throw error;
      throw new ApiUnreachableError(this.connection.apiUrl, error);
    }
  }

  /** The API's `ErrorBody`, or one made of the status when the body is not one (a proxy's page). */
  private async errorOf(response: Response): Promise<ApiError> {
    const text = await response.text().catch(() => '');
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch {
      raw = undefined;
    }
    const parsed = ErrorBody.safeParse(raw);
    const body = parsed.success ? parsed.data : { error: `HTTP ${response.status} ${response.statusText}${text ? `: ${text.slice(0, 200)}` : ''}` };
    if (response.status === 401) body.error = `${body.error} [token from ${this.connection.tokenSource}]`;
    return new ApiError(response.status, body);
  }
}
