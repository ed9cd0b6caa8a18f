import { fileURLToPath } from 'node:url';
import { DefaultLogger, bundleWorkflowCode } from '@temporalio/worker';
import { TRACING_WORKFLOW_INTERCEPTORS } from '../core/observability/temporal-tracing.js';

const workflowsPath = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));

/** The workflow bundle with the tracing workflow interceptors: the control worker builds it at start, tests once for all. */
export async function buildWorkflowBundle(): Promise<string> {
  const { code } = await bundleWorkflowCode({ workflowsPath, workflowInterceptorModules: [TRACING_WORKFLOW_INTERCEPTORS], logger: new DefaultLogger('WARN') });
  return code;
}
