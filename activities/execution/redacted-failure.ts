import { ApplicationFailure, CancelledFailure } from '@temporalio/activity';
import type { Redactor } from '../../core/contract/secrets.js';

/**
 * The activity's error with every secret redacted from its message, stack, details and causes:
 * they become the Temporal failure that the history stores, the UI shows and the run's `error`
 * is made of. A cancellation passes as it is (its message is ao's own).
 */
export function redactFailure(error: unknown, redactor: Redactor): unknown {
  if (error instanceof CancelledFailure || !(error instanceof Error)) return error;
  const cause = error.cause instanceof Error ? (redactFailure(error.cause, redactor) as Error) : undefined;
  if (error instanceof ApplicationFailure) {
    const redacted = ApplicationFailure.create({
      message: redactor.text(error.message),
      nonRetryable: error.nonRetryable === true,
      ...(error.type ? { type: error.type } : {}),
      ...(error.details?.length ? { details: redactor.value(error.details) } : {}),
      ...(cause ? { cause } : {}),
    });
    // Where it was raised, not here.
    redacted.stack = redactor.text(error.stack ?? '');
    return redacted;
  }
  const copy = new Error(redactor.text(error.message), cause ? { cause } : undefined);
  copy.name = error.name;
  copy.stack = redactor.text(error.stack ?? '');
  return copy;
}
