export { runWorkflow } from './run.js';
export { runnerWorkflow } from './runner.js';
export { notifyWorkflow } from './notify.js';
export { scheduledRunWorkflow } from './scheduled-run.js';
export { concurrencyWorkflow } from './concurrency.js';
export { flowWorkflow } from './flow.js';
