import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Seconds, for latencies from a fast local dispatch (tens of ms) to a run that waited minutes for a runner. */
const LATENCY_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

/**
 * Every metric ao exports, named once: the API and the runners build theirs from here, the README
 * lists them and `deploy/grafana/ao.json` charts them (a test checks the dashboard names only these).
 */
export const METRICS = {
  // The API's.
  runsStarted: { name: 'ao_runs_started_total', help: 'Runs the API accepted (their workflow started).', labels: ['agent'] },
  eventsIngested: { name: 'ao_events_ingested_total', help: 'Run events the API stored (newly; a resent event counts once).', labels: ['kind'] },
  httpRequests: { name: 'ao_http_requests_total', help: 'API requests answered, by route pattern and status code.', labels: ['method', 'route', 'status'] },
  httpDuration: { name: 'ao_http_request_duration_seconds', help: 'How long the API took to answer, by route pattern.', labels: ['method', 'route'] },
  // A runner's (each carries the runner_id label).
  runnerRunsStarted: { name: 'ao_runner_runs_started_total', help: 'Runs this runner started executing (an attempt after a crash counts again).', labels: ['agent', 'profile'] },
  runnerRunsEnded: { name: 'ao_runner_runs_ended_total', help: 'Runs this runner finished executing, by how they ended.', labels: ['status', 'agent', 'profile'] },
  dispatchLatency: { name: 'ao_run_dispatch_latency_seconds', help: 'From the API accepting a run to its executor process spawned on this runner.', labels: ['profile'] },
  queueWait: { name: 'ao_run_queue_wait_seconds', help: 'From the API accepting a run to this runner taking it (pending for a runner, then in its task queue).', labels: ['profile'] },
  stopLatency: { name: 'ao_run_stop_latency_seconds', help: 'From a stop reaching this runner to every process of the run gone.', labels: ['profile'] },
  spoolDepth: { name: 'ao_runner_event_spool_depth', help: 'Run events in this runner’s spool not yet delivered to the API.', labels: [] },
  scriptSyncLag: { name: 'ao_runner_script_sync_lag_seconds', help: 'From the runner workflow asking for a script install to the script installed on this runner.', labels: [] },
  slotsUsed: { name: 'ao_runner_slots_used', help: 'Runs executing on this runner now.', labels: [] },
  slotsFree: { name: 'ao_runner_slots_free', help: 'Runs this runner could still take (capacity less those executing).', labels: [] },
} as const;

type MetricKey = keyof typeof METRICS;
type LabelsOf<K extends MetricKey> = (typeof METRICS)[K]['labels'][number];

/** The content type of the Prometheus text format, which both kinds of registry answer in. */
export const PROMETHEUS_CONTENT_TYPE = new Registry().contentType;

const counter = <K extends MetricKey>(registry: Registry, key: K): Counter<LabelsOf<K>> =>
  new Counter({ name: METRICS[key].name, help: METRICS[key].help, labelNames: METRICS[key].labels, registers: [registry] });

const histogram = <K extends MetricKey>(registry: Registry, key: K): Histogram<LabelsOf<K>> =>
  new Histogram({ name: METRICS[key].name, help: METRICS[key].help, labelNames: METRICS[key].labels, buckets: LATENCY_BUCKETS, registers: [registry] });

const gauge = <K extends MetricKey>(registry: Registry, key: K, collect: () => number): Gauge =>
  new Gauge({
    name: METRICS[key].name,
    help: METRICS[key].help,
    registers: [registry],
    collect() {
      this.set(collect());
    },
  });

/** The API's metrics, in a registry of their own. */
export function createApiMetrics() {
  const registry = new Registry();
  return {
    registry,
    runsStarted: counter(registry, 'runsStarted'),
    eventsIngested: counter(registry, 'eventsIngested'),
    httpRequests: counter(registry, 'httpRequests'),
    httpDuration: histogram(registry, 'httpDuration'),
  };
}
export type ApiMetrics = ReturnType<typeof createApiMetrics>;

export interface RunnerGauges {
  /** Events in the spool not yet delivered. */
  spoolDepth: () => number;
  capacity: number;
}

/** A runner's metrics; gauges are read when scraped. */
export function createRunnerMetrics(runnerId: string, gauges: RunnerGauges) {
  const registry = new Registry();
  registry.setDefaultLabels({ runner_id: runnerId });
  let executing = 0;
  const metrics = {
    registry,
    runsStarted: counter(registry, 'runnerRunsStarted'),
    runsEnded: counter(registry, 'runnerRunsEnded'),
    dispatchLatency: histogram(registry, 'dispatchLatency'),
    queueWait: histogram(registry, 'queueWait'),
    stopLatency: histogram(registry, 'stopLatency'),
    scriptSyncLag: histogram(registry, 'scriptSyncLag'),
    /** Counts a run as executing until the returned function is called. */
    holdSlot(): () => void {
      executing += 1;
      let released = false;
      return () => {
        if (!released) executing -= 1;
        released = true;
      };
    },
  };
  gauge(registry, 'spoolDepth', gauges.spoolDepth);
  gauge(registry, 'slotsUsed', () => executing);
  gauge(registry, 'slotsFree', () => Math.max(0, gauges.capacity - executing));
  return metrics;
}
export type RunnerMetrics = ReturnType<typeof createRunnerMetrics>;

/** Seconds since `since` (epoch ms or an ISO time), never negative (clocks of two machines may differ a little). */
export function secondsSince(since: number | string, now = Date.now()): number {
  const start = typeof since === 'number' ? since : Date.parse(since);
  return Math.max(0, (now - start) / 1000);
}
