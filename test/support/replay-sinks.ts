import { fleetViewSinks } from '../../activities/fleet-view.js';
import { workflowSpanSinks } from '../../core/observability/temporal-tracing.js';
import { startTracing } from '../../core/observability/tracing.js';

/**
 * The sinks of a replay worker, named as the control worker's are (workers/control.ts): the tracing
 * interceptors' span sink (tracing off) and the fleet view's, which a replay never calls.
 */
export function replaySinks() {
  return { ...workflowSpanSinks(startTracing({ serviceName: 'ao-replay' })), ...fleetViewSinks({ freed: () => undefined, granted: () => undefined }) };
}
