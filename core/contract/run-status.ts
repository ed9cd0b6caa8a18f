import { z } from 'zod';
import { RUN_STATUSES } from './plain/run-status.js';

// The statuses and their predicates are zod-free, for workflow code (./plain/run-status.ts).
export * from './plain/run-status.js';

export const RunStatus = z.enum(RUN_STATUSES);
export type RunStatus = z.infer<typeof RunStatus>;
