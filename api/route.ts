import { Router, type Request, type Response } from 'express';
import type { OpenAPIRegistry, ResponseConfig, RouteConfig } from '@asteasolutions/zod-to-openapi';
import type { z, ZodObject, ZodType } from 'zod';
import { ErrorBody } from '../core/contract/http.js';
import { RUNNER_ROLE, type Principal } from '../core/contract/identity.js';
import { ANY_CREDENTIAL, authorize, principalOf, type Access } from './auth.js';
import { HttpError } from './errors.js';
import { BEARER_SCHEME, JSON_MEDIA_TYPE } from './openapi.js';

type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

/** One answer a route may give: JSON of `schema`, a body of another media type, or none. */
export interface Answer {
  description: string;
  schema?: ZodType;
  /** When the body is not JSON (a tar.gz, an HTML page). */
  contentType?: string;
  /** Another media type the same answer comes in, when the request asks for it with `Accept`. */
  alsoAs?: string;
}

export interface Shape<P extends ZodObject | undefined, Q extends ZodObject | undefined, B extends ZodType | undefined> {
  summary: string;
  /** Who may call it (checked before anything is parsed). @defaultValue `viewer`: any user token. */
  access?: Access;
  description?: string;
  params?: P;
  query?: Q;
  body?: B;
  /** The route's own answers: success, and errors its logic gives (404, 409…). The edge's errors are added. */
  responses: Record<number, Answer>;
  /** Answered without the token: app.ts mounts these before the token check. */
  public?: boolean;
}

type Parsed<T extends ZodType | undefined> = T extends ZodType ? z.infer<T> : undefined;

export interface RouteReply {
  status?: number;
  body: unknown;
}

/** Returns the reply to send as JSON, or nothing when it answered on `res` itself (a download, a stream). */
type Handler<P extends ZodObject | undefined, Q extends ZodObject | undefined, B extends ZodType | undefined> = (
  /** `principal`: the caller (public routes have none, and must not read it). */
  input: { params: Parsed<P>; query: Parsed<Q>; body: Parsed<B>; principal: Principal },
  req: Request,
  res: Response,
) => RouteReply | undefined | Promise<RouteReply | undefined>;

function response(answer: Answer): ResponseConfig {
  if (!answer.schema && !answer.contentType) return { description: answer.description };
  const content = { [answer.contentType ?? JSON_MEDIA_TYPE]: answer.schema ? { schema: answer.schema } : {}, ...(answer.alsoAs ? { [answer.alsoAs]: {} } : {}) };
  return { description: answer.description, content };
}

const error = (description: string): Answer => ({ description, schema: ErrorBody });

/** What any route may answer because of the edge (api/json-body.ts, the token check, the error map). */
function edgeAnswers(shape: Shape<ZodObject | undefined, ZodObject | undefined, ZodType | undefined>): Record<number, Answer> {
  const answers: Record<number, Answer> = {
    400: error('bad input: a parameter, query or body that does not match, malformed JSON or percent-encoding, a body nested too deep'),
    500: error('internal error (Temporal or the event store failed); the request may be retried'),
  };
  if (!shape.public) {
    answers[401] = error('missing or wrong token');
    answers[403] = error(`the token may not do this: ${accessWords(shape.access ?? 'viewer')}`);
  }
  if (shape.body) {
    answers[413] = error('the body is too large');
    answers[415] = error('not JSON, or an unsupported charset or Content-Encoding');
  }
  return answers;
}

/** Who may call a route, in words for the document. */
const accessWords = (access: Access): string =>
  access === RUNNER_ROLE ? 'a runner token' : access === ANY_CREDENTIAL ? 'any valid token' : `a user token with role ${access} or above`;

/** `/runs/:id` → `/runs/{id}`. */
const openApiPath = (path: string): string => path.replace(/:(\w+)/g, '{$1}');

/** The OpenAPI operation a route declares: what the document says, from the same schemas that parse the request. */
function operation(method: Method, path: string, shape: Shape<ZodObject | undefined, ZodObject | undefined, ZodType | undefined>): RouteConfig {
  const answers = { ...edgeAnswers(shape), ...shape.responses };
  return {
    method,
    path: openApiPath(path),
    summary: shape.summary,
    description: [shape.description, shape.public ? undefined : `Needs ${accessWords(shape.access ?? 'viewer')}.`].filter(Boolean).join('\n\n'),
    security: shape.public ? [] : [{ [BEARER_SCHEME]: [] }],
    request: {
      ...(shape.params ? { params: shape.params } : {}),
      ...(shape.query ? { query: shape.query } : {}),
      ...(shape.body ? { body: { required: !shape.body.safeParse(undefined).success, content: { [JSON_MEDIA_TYPE]: { schema: shape.body } } } } : {}),
    },
    responses: Object.fromEntries(Object.entries(answers).map(([status, answer]) => [status, response(answer)])),
  };
}

/**
 * The one way to declare a route: its shape (who may call it, params, query, body, answers) checks
 * the caller's role (403 naming the role it needs), parses each
 * request with zod (400 with the issues on a mismatch) before the handler runs and is registered
 * in the OpenAPI document, so the two cannot drift. Errors go to the app's error handler, which
 * maps them (api/errors.ts).
 */
export class ApiRoutes {
  readonly router = Router();

  constructor(private readonly registry: OpenAPIRegistry) {}

  get<P extends ZodObject | undefined = undefined, Q extends ZodObject | undefined = undefined, B extends ZodType | undefined = undefined>(
    path: string,
    shape: Shape<P, Q, B>,
    handler: Handler<P, Q, B>,
  ): void {
    this.add('get', path, shape, handler);
  }

  post<P extends ZodObject | undefined = undefined, Q extends ZodObject | undefined = undefined, B extends ZodType | undefined = undefined>(
    path: string,
    shape: Shape<P, Q, B>,
    handler: Handler<P, Q, B>,
  ): void {
    this.add('post', path, shape, handler);
  }

  put<P extends ZodObject | undefined = undefined, Q extends ZodObject | undefined = undefined, B extends ZodType | undefined = undefined>(
    path: string,
    shape: Shape<P, Q, B>,
    handler: Handler<P, Q, B>,
  ): void {
    this.add('put', path, shape, handler);
  }

  patch<P extends ZodObject | undefined = undefined, Q extends ZodObject | undefined = undefined, B extends ZodType | undefined = undefined>(
    path: string,
    shape: Shape<P, Q, B>,
    handler: Handler<P, Q, B>,
  ): void {
    this.add('patch', path, shape, handler);
  }

  delete<P extends ZodObject | undefined = undefined, Q extends ZodObject | undefined = undefined, B extends ZodType | undefined = undefined>(
    path: string,
    shape: Shape<P, Q, B>,
    handler: Handler<P, Q, B>,
  ): void {
    this.add('delete', path, shape, handler);
  }

  private add<P extends ZodObject | undefined, Q extends ZodObject | undefined, B extends ZodType | undefined>(
    method: Method,
    path: string,
    shape: Shape<P, Q, B>,
    handler: Handler<P, Q, B>,
  ): void {
    this.registry.registerPath(operation(method, path, shape));
    this.router[method](path, async (req: Request, res: Response) => {
      const principal = shape.public ? (undefined as unknown as Principal) : principalOf(res);
      if (!shape.public) authorize(principal, shape.access ?? 'viewer');
      if (shape.body && req.body === undefined && !shape.body.safeParse(undefined).success) {
        throw new HttpError(415, 'send a JSON body with Content-Type: application/json');
      }
      const input = {
        params: shape.params?.parse(req.params) as Parsed<P>,
        query: shape.query?.parse(req.query) as Parsed<Q>,
        body: shape.body?.parse(req.body) as Parsed<B>,
        principal,
      };
      const reply = await handler(input, req, res);
      if (!reply) return;
      if (reply.status === 204) res.status(204).end();
      else res.status(reply.status ?? 200).json(reply.body);
    });
  }
}
