import express, { type ErrorRequestHandler } from 'express';
import type { PayloadCodec } from '@temporalio/common';
import type { AgentsService } from './agents-service.js';
import { requireToken } from './auth.js';
import { serveDashboard } from './dashboard.js';
import { HttpError, toHttpError } from './errors.js';
import type { EventStore } from './event-store.js';
import type { FleetService } from './fleet-service.js';
import { eventsRouter } from './routes/events.js';
import type { RunsService } from './runs-service.js';
import type { ScriptsService } from './scripts-service.js';
import { codecRouter } from './routes/codec.js';
import { configRouter } from './routes/config.js';
import { fleetRouter } from './routes/fleet.js';
import { runsRouter } from './routes/runs.js';

export interface AppDependencies {
  runs: RunsService;
  fleet: FleetService;
  agents: AgentsService;
  scripts: ScriptsService;
  events: EventStore;
  apiToken: string;
  /** With payload encryption on: the codec the Temporal UI and CLI decode payloads with, and the UI's origin. */
  codec?: { codec: PayloadCodec; uiOrigin: string };
  log?: (message: string) => void;
}

/** The HTTP API: thin routes over Temporal. Every route but /healthz needs the token. */
export function createApp({ runs, fleet, agents, scripts, events, apiToken, codec, log = console.error }: AppDependencies): express.Express {
  const app = express();
  app.disable('x-powered-by');
  // Nobody may frame the dashboard (it acts with the stored token) or sniff a response into another type.
  app.use((_req, res, next) => {
    res.set({ 'x-frame-options': 'DENY', 'content-security-policy': "frame-ancestors 'none'", 'x-content-type-options': 'nosniff' });
    next();
  });
  app.use(express.json({ limit: '8mb' }));

  app.get('/healthz', (_req, res) => {
    res.json({ ok: true });
  });
  // Static files load without the token; the dashboard sends it with each API call.
  serveDashboard(app);
  // Before the token check: it answers the browser's CORS preflight, then checks the token itself.
  if (codec) app.use(codecRouter({ ...codec, apiToken }));
  app.use(requireToken(apiToken));
  app.use(runsRouter(runs));
  app.use(fleetRouter(fleet));
  app.use(configRouter(agents, scripts));
  app.use(eventsRouter(events));

  app.use((req) => {
    throw new HttpError(404, `no route for ${req.method} ${req.path}`);
  });
  const onError: ErrorRequestHandler = (error: unknown, req, res, _next) => {
    // express.json() reports a malformed body as a 400-status SyntaxError.
    const bodyError = error instanceof SyntaxError && 'status' in error ? new HttpError(400, `malformed JSON body: ${error.message}`) : error;
    const { status, body } = toHttpError(bodyError);
    if (status >= 500) log(`${req.method} ${req.path} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    res.status(status).json(body);
  };
  app.use(onError);
  return app;
}
