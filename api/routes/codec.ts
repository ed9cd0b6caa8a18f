import { Router, type RequestHandler } from 'express';
import { z } from 'zod';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { authenticate, authorize, principalOf } from '../auth.js';
import type { CredentialStore } from '../credentials.js';
import { HttpError } from '../errors.js';

/** The Temporal UI's and CLI's remote codec protocol: payloads in proto JSON (metadata values and data in base64). */
const CodecBody = z.object({
  payloads: z.array(z.object({ metadata: z.record(z.string(), z.string()).nullish(), data: z.string().nullish() })).max(10_000),
});
type JsonPayload = z.infer<typeof CodecBody>['payloads'][number];
const CODEC_OPERATIONS = ['encode', 'decode'] as const;

const fromJson = ({ metadata, data }: JsonPayload): Payload => ({
  metadata: Object.fromEntries(Object.entries(metadata ?? {}).map(([key, value]) => [key, Buffer.from(value, 'base64')])),
  data: Buffer.from(data ?? '', 'base64'),
});
const toJson = ({ metadata, data }: Payload): JsonPayload => ({
  metadata: Object.fromEntries(Object.entries(metadata ?? {}).map(([key, value]) => [key, Buffer.from(value).toString('base64')])),
  data: Buffer.from(data ?? new Uint8Array()).toString('base64'),
});

export interface CodecRouteOptions {
  codec: PayloadCodec;
  /** Any user token may decode: payloads show nothing a viewer cannot read through the API. */
  credentials: CredentialStore;
  /** The Temporal UI's origin: its browser calls may read the answers. */
  uiOrigin: string;
}

/**
 * `POST /codec/encode` and `/codec/decode`, behind a user token (viewer or above). Mounted before the API's own
 * authentication, so the browser's CORS preflight (which carries no token) gets its answer.
 */
export function codecRouter({ codec, credentials, uiOrigin }: CodecRouteOptions): Router {
  const router = Router();
  const cors: RequestHandler = (req, res, next) => {
    if (req.get('origin') === uiOrigin) {
      res.set({
        'access-control-allow-origin': uiOrigin,
        'access-control-allow-credentials': 'true',
        'access-control-allow-methods': 'POST',
        'access-control-allow-headers': 'authorization, content-type, x-namespace',
        vary: 'origin',
      });
    }
    if (req.method === 'OPTIONS') res.status(204).end();
    else next();
  };
  for (const operation of CODEC_OPERATIONS) {
    router.options(`/codec/${operation}`, cors);
    router.post(
      `/codec/${operation}`,
      cors,
      authenticate(credentials),
      async (req, res) => {
        authorize(principalOf(res), 'viewer');
        const body = CodecBody.parse(req.body);
        let payloads;
        try {
          payloads = await codec[operation](body.payloads.map(fromJson));
        } catch (error) {
          // A payload under a key this API lacks, or one that does not authenticate: the caller's input.
          throw new HttpError(400, `cannot ${operation} the payloads: ${(error as Error).message}`);
        }
        res.json({ payloads: payloads.map(toJson) });
      },
    );
  }
  return router;
}
