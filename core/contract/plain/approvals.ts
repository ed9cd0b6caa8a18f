/** Failure types of a refused approval decision, the update's validator's (zod-free, for workflow code: ./run-status.ts says why). */
export const APPROVAL_NOT_FOUND = 'APPROVAL_NOT_FOUND';
export const APPROVAL_NOT_PENDING = 'APPROVAL_NOT_PENDING';
export const APPROVAL_EXPIRED = 'APPROVAL_EXPIRED';
