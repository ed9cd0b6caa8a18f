import { Runtime } from '@temporalio/worker';
import { temporalLogger, type Logger } from './logger.js';

export interface TemporalRuntimeOptions {
  logger: Logger;
  /** `host:port` where the SDK serves its own Prometheus metrics (workers, polls, task latencies); unset: none. */
  metricsAddress?: string;
  /** Signals on which the SDK shuts its workers down itself; `[]` when the process drains them itself. */
  shutdownSignals?: NodeJS.Signals[];
}

/**
 * Installs the Temporal SDK's runtime for a worker process: its logger routed through ours, and
 * its metrics exporter. Once per process, before any worker or native connection exists (the SDK
 * refuses a second install, and creating a worker installs a default runtime).
 */
export function installTemporalRuntime({ logger, metricsAddress, shutdownSignals }: TemporalRuntimeOptions): void {
  Runtime.install({
    logger: temporalLogger(logger),
    ...(shutdownSignals ? { shutdownSignals } : {}),
    ...(metricsAddress ? { telemetryOptions: { metrics: { prometheus: { bindAddress: metricsAddress } } } } : {}),
  });
}

/** `host:port`, with an IPv6 host bracketed. */
export const hostPort = (host: string, port: number): string => `${host.includes(':') ? `[${host}]` : host}:${port}`;
