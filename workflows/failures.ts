// Reading an activity's failure inside workflow code: the SDK wraps it in an ActivityFailure whose
// cause is what the activity threw.
import { ApplicationFailure } from '@temporalio/workflow';

/** The failure's own message, without the SDK's "Activity task failed" wrapper. */
export const failureMessage = (error: unknown) =>
  error instanceof Error ? (error.cause instanceof Error ? error.cause.message : error.message) : String(error);

/** The ApplicationFailure type the activity threw (e.g. a guardrail's refusal), if it threw one. */
export const failureType = (error: unknown) =>
  error instanceof Error && error.cause instanceof ApplicationFailure ? error.cause.type : undefined;
