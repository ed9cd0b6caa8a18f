import { fileURLToPath } from 'node:url';
import { DefaultLogger, bundleWorkflowCode } from '@temporalio/worker';
import { TRACING_WORKFLOW_INTERCEPTORS } from '../core/observability/temporal-tracing.js';

export const workflowsPath = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));

/** Workers take a prebuilt bundle when given one (tests build it once), else bundle at start. */
export function workflowSource(bundlePath: string | undefined): { workflowBundle: { codePath: string } } | { workflowsPath: string } {
  return bundlePath ? { workflowBundle: { codePath: bundlePath } } : { workflowsPath };
}

/** With the tracing workflow interceptors, as a worker that bundles at start has them. */
export async function buildWorkflowBundle(): Promise<string> {
  const { code } = await bundleWorkflowCode({ workflowsPath, workflowInterceptorModules: [TRACING_WORKFLOW_INTERCEPTORS], logger: new DefaultLogger('WARN') });
  return code;
}
