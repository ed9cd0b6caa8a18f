/** Failure types of a refused live command; the API answers 409 with the reason (zod-free, for workflow code: ./run-status.ts says why). */
export const RUN_NOT_LIVE = 'RUN_NOT_LIVE';
export const COMMAND_REFUSED = 'COMMAND_REFUSED';
