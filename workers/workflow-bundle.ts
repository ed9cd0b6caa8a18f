import { fileURLToPath } from 'node:url';
import { DefaultLogger, bundleWorkflowCode } from '@temporalio/worker';

export const workflowsPath = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));

/** Workers take a prebuilt bundle when given one (tests build it once), else bundle at start. */
export function workflowSource(bundlePath: string | undefined): { workflowBundle: { codePath: string } } | { workflowsPath: string } {
  return bundlePath ? { workflowBundle: { codePath: bundlePath } } : { workflowsPath };
}

export async function buildWorkflowBundle(): Promise<string> {
  const { code } = await bundleWorkflowCode({ workflowsPath, logger: new DefaultLogger('WARN') });
  return code;
}
