import { DefaultLogger, Runtime } from '@temporalio/worker';

let installed = false;

/** Quiet workers, once per process: the bench prints figures, not the SDK's start and stop notes. */
export function installQuietRuntime(): void {
  if (installed) return;
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  installed = true;
}
