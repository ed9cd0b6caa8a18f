export { runWorkflow } from './run.js';
export { runnerWorkflow } from './runner.js';
export { scheduledRunWorkflow } from './scheduled-run.js';
