import express, { type RequestHandler } from 'express';
import { JsonTooDeepError, RequestBodyError } from './errors.js';

/** The largest request body the API reads (413 above it). */
export const MAX_BODY_BYTES = 8 * 1024 * 1024;

/** How deep objects and arrays may nest in a request body (400 deeper): deep enough for any real body, far from a stack overflow. */
export const MAX_JSON_DEPTH = 64;

/**
 * Where `value` first nests deeper than `limit` objects and arrays, or undefined when it does not.
 * Iterative, so a 20,000-deep body costs a loop, not the stack.
 */
export function tooDeepAt(value: unknown, limit: number): string | undefined {
  const stack: Array<{ value: unknown; depth: number; path: string }> = [{ value, depth: 0, path: '' }];
  while (stack.length) {
    const { value: node, depth, path } = stack.pop()!;
    if (node === null || typeof node !== 'object') continue;
    if (depth + 1 > limit) return path;
    for (const [key, child] of Object.entries(node)) stack.push({ value: child, depth: depth + 1, path: path ? `${path}.${key}` : key });
  }
  return undefined;
}

/** The bytes of a request's JSON body as they arrived, before parsing: what a webhook signature is computed over. */
export const rawBodyOf = (req: express.Request): Buffer | undefined => (req as express.Request & { rawBody?: Buffer }).rawBody;

/**
 * Every request's JSON body, read once for the whole API: at most `MAX_BODY_BYTES`, nested at most
 * `MAX_JSON_DEPTH` deep. Whatever the body parser refuses (size, charset, encoding, malformed JSON
 * or gzip) reaches the error map in api/errors.ts with its own status, never as a 500.
 */
export function jsonBody(): RequestHandler[] {
  const parse = express.json({
    limit: MAX_BODY_BYTES,
    // Kept as read: a webhook's signature is over these bytes, not over a re-serialised body.
    verify: (req, _res, buffer) => {
      (req as express.Request & { rawBody?: Buffer }).rawBody = buffer;
    },
  });
  const readBody: RequestHandler = (req, res, next) =>
    parse(req, res, (error?: unknown) => next(error === undefined ? undefined : new RequestBodyError(error instanceof Error ? error : new Error('the body could not be read'))));
  const checkDepth: RequestHandler = (req, _res, next) => {
    const path = tooDeepAt(req.body, MAX_JSON_DEPTH);
    next(path === undefined ? undefined : new JsonTooDeepError(MAX_JSON_DEPTH, path));
  };
  return [readBody, checkDepth];
}
