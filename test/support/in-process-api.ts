import path from 'node:path';
import type { Client } from '@temporalio/client';
import type { Tracer } from '@opentelemetry/api';
import type { Express } from 'express';
import { AgentsService } from '../../api/agents-service.js';
import { FlowsService } from '../../api/flows-service.js';
import { NotificationsService } from '../../api/notifications-service.js';
import { createApp } from '../../api/app.js';
import { AuditLog } from '../../api/audit-log.js';
import { ConfigLock } from '../../api/config-lock.js';
import { CredentialStore } from '../../api/credentials.js';
import { EventAdmission } from '../../api/event-admission.js';
import { FileEventStore } from '../../api/event-store.js';
import { FleetService } from '../../api/fleet-service.js';
import { RunCredentials } from '../../api/run-credentials.js';
import { RunsService } from '../../api/runs-service.js';
import { UsageService } from '../../api/usage-service.js';
import { ScriptsService } from '../../api/scripts-service.js';
import { SchedulesService } from '../../api/schedules-service.js';
import { TriggersService } from '../../api/triggers-service.js';
import { TriggerDeliveries } from '../../api/trigger-deliveries.js';
import { defaultProfilesDir } from '../../core/config/paths.js';
import type { TestStack } from './stack.js';

/**
 * The API app as api/server.ts builds it, with real services, in the test's own process: for
 * what only an in-process app shows (the routes it declares, an in-memory span exporter).
 * Its events, credentials and audit log live in `dataDir`.
 */
export function inProcessApp(stack: TestStack, client: Client, options: { dataDir: string; token: string; tracer?: Tracer }): Express {
  const lock = new ConfigLock();
  const runs = new RunsService({ client, configDir: stack.configDir, namespace: stack.namespace, temporalUiUrl: 'http://127.0.0.1:8233' });
  return createApp({
    runs,
    schedules: new SchedulesService({ client, runs, namespace: stack.namespace, temporalUiUrl: 'http://127.0.0.1:8233' }),
    triggers: new TriggersService(stack.configDir, lock, runs, TriggerDeliveries.inDataDir(options.dataDir)),
    fleet: new FleetService(client, defaultProfilesDir),
    agents: new AgentsService(stack.configDir, lock),
    flows: new FlowsService({ client, configDir: stack.configDir, lock, temporalUiUrl: (workflowId, runId) => runs.temporalUiUrl(workflowId, runId) }),
    scripts: new ScriptsService(client, stack.configDir, lock),
    notifications: new NotificationsService(client, stack.configDir, lock),
    events: new FileEventStore(path.join(options.dataDir, 'events')),
    usage: new UsageService(client),
    credentials: CredentialStore.inDataDir(options.dataDir, options.token),
    mcp: { runCredentials: RunCredentials.inDataDir(options.dataDir), configDir: stack.configDir },
    admission: new EventAdmission(client),
    audit: AuditLog.inDataDir(options.dataDir),
    ...(options.tracer ? { tracer: options.tracer } : {}),
  });
}
