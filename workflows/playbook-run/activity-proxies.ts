// The activities a playbook run calls, each group with the timeouts and retries its purpose needs.
import type { RetryPolicy } from '@temporalio/common';
import { isCancellation, log, proxyActivities, proxyLocalActivities } from '@temporalio/workflow';
import type { Activities } from '../../activities';
import { TELLING_PEOPLE } from '../activity-options';
import { failureMessage } from '../failures';

/** Retries that wait twice as long each time, up to `maximumInterval`; without `maximumAttempts`, until they succeed. */
const doubling = (initialInterval: string, maximumInterval: string, maximumAttempts?: number): RetryPolicy => ({
  initialInterval,
  backoffCoefficient: 2,
  maximumInterval,
  ...(maximumAttempts !== undefined && { maximumAttempts }),
});

// Applying gives up after a few attempts so a broken step fails fast and its predecessors are
// rolled back; undoing never gives up on a transient fault, since a change left behind costs money.
export const apply = proxyActivities<Activities>({ startToCloseTimeout: '30s', retry: doubling('1s', '30s', 5) });
export const undo = proxyActivities<Activities>({ startToCloseTimeout: '30s', retry: doubling('1s', '1m') });
export const tell = proxyActivities<Activities>(TELLING_PEOPLE);
// Measuring savings is not the mitigation either: a cost-rate sample taken before a change waits
// at most a second on a Prometheus that is down; a missed sample is noted and the next one comes on
// schedule.
export const sample = proxyActivities<Activities>({
  startToCloseTimeout: '10s',
  retry: { initialInterval: '500ms', maximumAttempts: 2 },
});
// Asking the policy before a change only reads: a local activity, in the worker that runs the
// workflow task, spares the change one round trip through the server.
export const askPolicy = proxyLocalActivities<Activities>({
  startToCloseTimeout: '10s',
  retry: doubling('500ms', '5s', 5),
});
// The limits as the worker is configured: read from the worker's memory, no round trip through the server.
export const limitSettings = proxyLocalActivities<Activities>({
  startToCloseTimeout: '5s',
  retry: doubling('200ms', '5s'),
});
// A run never goes ahead without the limits' answer: asking retries until it gets one.
export const limits = proxyActivities<Activities>({ startToCloseTimeout: '30s', retry: doubling('1s', '30s') });

/** Telling people (approvers, a war-room) must not stop the run: a failure is logged and the run goes on. */
export async function tellPeople(what: string, call: () => Promise<unknown>): Promise<void> {
  try {
    await call();
  } catch (error) {
    if (isCancellation(error)) throw error;
    log.warn(`could not ${what}`, { error: failureMessage(error) });
  }
}
