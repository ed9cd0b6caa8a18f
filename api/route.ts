import type { Request, RequestHandler, Response } from 'express';
import type { z, ZodType } from 'zod';
import type { Principal } from '../core/contract/identity.js';
import { authorize, principalOf, type Access } from './auth.js';
import { HttpError } from './errors.js';

interface Shape<P extends ZodType, Q extends ZodType, B extends ZodType> {
  /** Who may call it. @defaultValue `viewer`: any user token. */
  access?: Access;
  params?: P;
  query?: Q;
  body?: B;
}

type Parsed<T extends ZodType | undefined> = T extends ZodType ? z.infer<T> : undefined;

export interface RouteReply {
  status?: number;
  body: unknown;
}

/**
 * Declares a route's shape and who may call it; checks the caller's role (403 naming the role it
 * needs), parses params, query and body with zod (400 with the issues on a
 * mismatch) before the handler runs. Errors go to the app's error handler, which maps them.
 */
export function route<P extends ZodType, Q extends ZodType, B extends ZodType>(
  shape: Shape<P, Q, B>,
  handler: (input: { params: Parsed<P>; query: Parsed<Q>; body: Parsed<B>; principal: Principal }, req: Request) => Promise<RouteReply>,
): RequestHandler {
  return async (req: Request, res: Response) => {
    const principal = principalOf(res);
    authorize(principal, shape.access ?? 'viewer');
    if (shape.body && req.body === undefined && !shape.body.safeParse(undefined).success) {
      throw new HttpError(415, 'send a JSON body with Content-Type: application/json');
    }
    const input = {
      params: (shape.params ? shape.params.parse(req.params) : undefined) as Parsed<P>,
      query: (shape.query ? shape.query.parse(req.query) : undefined) as Parsed<Q>,
      body: (shape.body ? shape.body.parse(req.body) : undefined) as Parsed<B>,
      principal,
    };
    const reply = await handler(input, req);
    if (reply.status === 204) res.status(204).end();
    else res.status(reply.status ?? 200).json(reply.body);
  };
}
