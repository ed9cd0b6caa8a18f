import express, { type ErrorRequestHandler } from 'express';
import type { AgentsService } from './agents-service.js';
import { requireToken } from './auth.js';
import { serveDashboard } from './dashboard.js';
import { HttpError, toHttpError } from './errors.js';
import type { EventStore } from './event-store.js';
import type { FleetService } from './fleet-service.js';
import { jsonBody } from './json-body.js';
import { createApiRegistry } from './openapi.js';
import { configRouter } from './routes/config.js';
import { publicRouter } from './routes/docs.js';
import { eventsRouter } from './routes/events.js';
import { fleetRouter } from './routes/fleet.js';
import { runsRouter } from './routes/runs.js';
import type { RunsService } from './runs-service.js';
import type { ScriptsService } from './scripts-service.js';

export interface AppDependencies {
  runs: RunsService;
  fleet: FleetService;
  agents: AgentsService;
  scripts: ScriptsService;
  events: EventStore;
  apiToken: string;
  log?: (message: string) => void;
}

/** The HTTP API: thin routes over Temporal. Every route but the public ones (health, /openapi.json, /docs) needs the token. */
export function createApp({ runs, fleet, agents, scripts, events, apiToken, log = console.error }: AppDependencies): express.Express {
  const app = express();
  app.disable('x-powered-by');
  // Nobody may frame the dashboard (it acts with the stored token) or sniff a response into another type.
  app.use((_req, res, next) => {
    res.set({ 'x-frame-options': 'DENY', 'content-security-policy': "frame-ancestors 'none'", 'x-content-type-options': 'nosniff' });
    next();
  });
  app.use(jsonBody());

  // Every route registers itself in the OpenAPI document as it is declared (api/route.ts).
  const registry = createApiRegistry();
  app.use(publicRouter(registry));
  // Static files load without the token; the dashboard sends it with each API call.
  serveDashboard(app);
  app.use(requireToken(apiToken));
  app.use(runsRouter(runs, registry));
  app.use(fleetRouter(fleet, registry));
  app.use(configRouter(agents, scripts, registry));
  app.use(eventsRouter(events, registry));

  app.use((req) => {
    throw new HttpError(404, `no route for ${req.method} ${req.path}`);
  });
  const onError: ErrorRequestHandler = (error: unknown, req, res, _next) => {
    const { status, body } = toHttpError(error);
    if (status >= 500) log(`${req.method} ${req.path} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    res.status(status).json(body);
  };
  app.use(onError);
  return app;
}
