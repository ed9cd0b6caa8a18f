import { fileURLToPath } from 'node:url';
import { DefaultLogger, bundleWorkflowCode } from '@temporalio/worker';
import { TRACING_WORKFLOW_INTERCEPTORS } from '../core/observability/temporal-tracing.js';

const workflowsPath = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));

/**
 * The workflow bundle with the tracing workflow interceptors: the control worker builds it at start,
 * tests once for all. Every workflow evaluates the bundle's modules anew when it starts (a run's first
 * workflow task waits for it), so workflow code imports no schemas: core/contract/plain is zod-free.
 */
export async function buildWorkflowBundle(): Promise<string> {
  const { code } = await bundleWorkflowCode({ workflowsPath, workflowInterceptorModules: [TRACING_WORKFLOW_INTERCEPTORS], logger: new DefaultLogger('WARN') });
  return code;
}
