// Starting and signalling playbook runs: shared by the Alertmanager webhook and the runs API.
import { status as GrpcStatus } from '@grpc/grpc-js';
import { isGrpcServiceError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Alert } from '../alerts/alertmanager';
import type { AlertNotification } from '../alerts/tracker';
import type { RunPlan } from '../playbook/plan';
import {
  alertNotificationSignal,
  alertNotificationsSignal,
  type PlaybookRunInput,
} from '../workflows/playbook-run/definitions';
import type { playbookRun } from '../workflows/playbook-run/playbook-run';

export const notificationOf = ({ fingerprint, status, startsAt, endsAt }: Alert): AlertNotification => ({
  fingerprint,
  status,
  startsAt,
  endsAt,
});

// Codes where the same call can succeed later; anything else is our fault or the server's.
const RETRYABLE_GRPC = new Set([
  GrpcStatus.UNAVAILABLE,
  GrpcStatus.DEADLINE_EXCEEDED,
  GrpcStatus.RESOURCE_EXHAUSTED,
  GrpcStatus.ABORTED,
  GrpcStatus.CANCELLED,
]);

/** Whether the same Temporal call can succeed later. */
export function isRetryable(error: unknown): boolean {
  for (let cause: unknown = error; cause; cause = (cause as { cause?: unknown }).cause) {
    if (isGrpcServiceError(cause)) return RETRYABLE_GRPC.has(cause.code);
  }
  // No gRPC status at all: the connection could not be made.
  return true;
}

/** Temporal's default limit.maxIDLength: it refuses a longer workflow id (in UTF-8 bytes), on every retry. */
export const MAX_WORKFLOW_ID_BYTES = 1_000;
// Temporal refuses a payload over 2 MiB (limit.blobSize.error), on every retry; the run carries its input in its
// history and on through continue-as-new, so it keeps well under that.
export const MAX_RUN_INPUT_BYTES = 1024 * 1024;

const utf8Bytes = (text: string) => Buffer.byteLength(text, 'utf8');

/**
 * Why no run can have this id, or undefined. Temporal would replace a lone surrogate, so two ids would meet. `ofTarget`:
 * the id is a target's, whose labels then are what is too long.
 */
export function workflowIdProblem(workflowId: string, { ofTarget = false } = {}): string | undefined {
  if (/\p{Cs}/u.test(workflowId)) return `its workflow id contains a lone UTF-16 surrogate, which is not Unicode text`;
  const bytes = utf8Bytes(workflowId);
  if (bytes > MAX_WORKFLOW_ID_BYTES)
    return `its workflow id is ${bytes} bytes, over Temporal's limit of ${MAX_WORKFLOW_ID_BYTES}${ofTarget ? ": the target's labels are too long" : ''}`;
  return undefined;
}

export function runInput(plan: RunPlan, alert: Alert): PlaybookRunInput {
  return {
    plan,
    alert: {
      ...notificationOf(alert),
      labels: alert.labels,
      annotations: alert.annotations,
      generatorURL: alert.generatorURL,
    },
  };
}

/**
 * Why Temporal would refuse to start this run whatever the retries (its id or its input over Temporal's limits), or
 * undefined: such an alert is refused with the reason, rather than answered 5xx for a retry that cannot help.
 */
export function runStartProblem(workflowId: string, plan: RunPlan, alert: Alert): string | undefined {
  const idProblem = workflowIdProblem(workflowId, { ofTarget: true });
  if (idProblem) return idProblem;
  const bytes = utf8Bytes(JSON.stringify(runInput(plan, alert)));
  if (bytes > MAX_RUN_INPUT_BYTES)
    return `the run's input (its playbook, labels and annotations) is ${bytes} bytes, over the ${MAX_RUN_INPUT_BYTES} a run may carry in Temporal: shorten the alert's annotations or labels`;
  return undefined;
}

/** Starts the run for a firing alert, or signals the run already open for its target: never two runs. */
export async function startOrSignalRun(
  client: Client,
  taskQueue: string,
  workflowId: string,
  plan: RunPlan,
  alert: Alert,
): Promise<void> {
  const input = runInput(plan, alert);
  await client.workflow.signalWithStart<typeof playbookRun, [AlertNotification]>('playbookRun', {
    workflowId,
    taskQueue,
    args: [input],
    signal: alertNotificationSignal,
    signalArgs: [notificationOf(alert)],
  });
}

/**
 * The most one batch signal carries. Each notification is small (a fingerprint and two timestamps, ~120 bytes), but a
 * webhook body may be 8 MiB and Temporal refuses a payload over 2 MiB on every retry: a target's alerts beyond this
 * go in further signals, in order (about 2,000 real alerts fit in one).
 */
export const MAX_SIGNAL_BATCH_BYTES = 256 * 1024;

/** `notifications` in order, in batches of at most MAX_SIGNAL_BATCH_BYTES (a single larger one alone). */
export function signalBatches(notifications: AlertNotification[]): AlertNotification[][] {
  const batches: AlertNotification[][] = [];
  let bytes = Infinity;
  for (const notification of notifications) {
    const size = utf8Bytes(JSON.stringify(notification)) + 1;
    if (bytes + size > MAX_SIGNAL_BATCH_BYTES) {
      batches.push([]);
      bytes = 0;
    }
    batches[batches.length - 1]!.push(notification);
    bytes += size;
  }
  return batches;
}

/**
 * Starts the run with `input`, or signals the run already open for its target, with every notification for it in one
 * call a batch: one signalWithStart (and one workflow task) however many alerts of a notification share the target.
 */
export async function startOrSignalRunWith(
  client: Client,
  taskQueue: string,
  workflowId: string,
  input: PlaybookRunInput,
  notifications: AlertNotification[],
): Promise<void> {
  for (const batch of signalBatches(notifications))
    await client.workflow.signalWithStart<typeof playbookRun, [AlertNotification[]]>('playbookRun', {
      workflowId,
      taskQueue,
      args: [input],
      signal: alertNotificationsSignal,
      signalArgs: [batch],
    });
}

/** Tells an open run of several notifications at once (resolutions: never starts a run), in one signal a batch. */
export async function signalNotifications(
  client: Client,
  workflowId: string,
  notifications: AlertNotification[],
): Promise<'signalled' | 'no-active-run'> {
  try {
    for (const batch of signalBatches(notifications))
      await client.workflow.getHandle(workflowId).signal(alertNotificationsSignal, batch);
    return 'signalled';
  } catch (error) {
    // Also when the run ended between two batches: what it was told before no longer matters, and nothing is remembered.
    if (error instanceof WorkflowNotFoundError) return 'no-active-run';
    throw error;
  }
}

/** Tells an open run that an alert resolved; a resolution never starts a run, since nothing ran that needs undoing. */
export async function signalResolution(
  client: Client,
  workflowId: string,
  notification: AlertNotification,
): Promise<'signalled' | 'no-active-run'> {
  try {
    await client.workflow.getHandle(workflowId).signal(alertNotificationSignal, notification);
    return 'signalled';
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return 'no-active-run';
    throw error;
  }
}
