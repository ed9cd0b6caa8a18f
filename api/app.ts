import { trace, type Tracer } from '@opentelemetry/api';
import express, { type ErrorRequestHandler } from 'express';
import type { PayloadCodec } from '@temporalio/common';
import type { AgentsService } from './agents-service.js';
import type { NotificationsService } from './notifications-service.js';
import type { AuditLog } from './audit-log.js';
import { authenticate } from './auth.js';
import type { CredentialStore } from './credentials.js';
import { serveDashboard } from './dashboard.js';
import { HttpError, toHttpError } from './errors.js';
import type { EventAdmission } from './event-admission.js';
import type { EventStore } from './event-store.js';
import type { FleetService } from './fleet-service.js';
import type { FlowsService } from './flows-service.js';
import { jsonBody } from './json-body.js';
import { createApiRegistry } from './openapi.js';
import { configRouter } from './routes/config.js';
import { notificationsRouter } from './routes/notifications.js';
import { publicRouter } from './routes/docs.js';
import { eventsRouter } from './routes/events.js';
import { fleetRouter } from './routes/fleet.js';
import { flowsRouter } from './routes/flows.js';
import { identityRouter } from './routes/identity.js';
import { runsRouter } from './routes/runs.js';
import { usageRouter } from './routes/usage.js';
import type { UsageService } from './usage-service.js';
import { runCredentialRouter } from './routes/run-credential.js';
import { mcpRouter } from './mcp.js';
import type { RunCredentials } from './run-credentials.js';
import type { RunsService } from './runs-service.js';
import type { ScriptsService } from './scripts-service.js';
import type { SchedulesService } from './schedules-service.js';
import { schedulesRouter } from './routes/schedules.js';
import type { TriggersService } from './triggers-service.js';
import { triggerHooksRouter, triggersRouter } from './routes/triggers.js';
import { codecRouter } from './routes/codec.js';
import { metricsRouter } from './routes/metrics.js';
import { observeRequests } from './observe-requests.js';
import { createApiMetrics, type ApiMetrics } from '../core/observability/metrics.js';
import { TRACER_NAME } from '../core/observability/tracing.js';

export interface AppDependencies {
  runs: RunsService;
  fleet: FleetService;
  agents: AgentsService;
  flows: FlowsService;
  scripts: ScriptsService;
  notifications: NotificationsService;
  schedules: SchedulesService;
  triggers: TriggersService;
  events: EventStore;
  /** `GET /usage`: runs' cost and tokens added up. */
  usage: UsageService;
  credentials: CredentialStore;
  /** Each run's own credential for ao's MCP server (api/mcp.ts), and the config dir its tools read agents from. */
  mcp: { runCredentials: RunCredentials; configDir: string };
  admission: EventAdmission;
  audit: AuditLog;
  /** With payload encryption on: the codec the Temporal UI and CLI decode payloads with, and the UI's origin. */
  codec?: { codec: PayloadCodec; uiOrigin: string };
  log?: (message: string) => void;
  /** What `GET /metrics` shows (give the runs service the same: it counts the runs started). */
  metrics?: ApiMetrics;
  /** The span of each request comes from it (a no-op one with tracing off). */
  tracer?: Tracer;
}

/** The HTTP API: thin routes over Temporal. Every route but the public ones (health, /openapi.json, /docs) needs a token, and each says which role. */
export function createApp({
  runs, fleet, agents, flows, scripts, notifications, schedules, triggers, events, usage, credentials, mcp, admission, audit, codec, log = console.error,
  metrics = createApiMetrics(), tracer = trace.getTracer(TRACER_NAME),
}: AppDependencies): express.Express {
  const app = express();
  app.disable('x-powered-by');
  // First: every request, refused ones too, is counted and traced.
  app.use(observeRequests(metrics, tracer));
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
  // Before the token check: it answers the browser's CORS preflight, then checks the token itself.
  if (codec) app.use(codecRouter({ ...codec, credentials }));
  // Webhook deliveries carry a signature, not a token: checked by the trigger itself.
  app.use(triggerHooksRouter(triggers, registry));
  // A run's own credential: ao's MCP server checks it itself; the token check below refuses it everywhere else.
  app.use(mcpRouter({ runs, audit, ...mcp }, registry));
  app.use(authenticate(credentials, mcp.runCredentials));
  app.use(runsRouter(runs, audit, registry));
  app.use(usageRouter(usage, registry));
  app.use(runCredentialRouter(runs, mcp.runCredentials, admission, registry));
  app.use(schedulesRouter(schedules, audit, registry));
  app.use(triggersRouter(triggers, audit, registry));
  app.use(fleetRouter(fleet, audit, registry));
  app.use(configRouter(agents, scripts, audit, registry));
  app.use(flowsRouter(flows, audit, registry));
  app.use(notificationsRouter(notifications, audit, registry));
  app.use(identityRouter(credentials, audit, registry));
  app.use(eventsRouter(events, admission, registry, metrics));
  app.use(metricsRouter(metrics, registry));

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
