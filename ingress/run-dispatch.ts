// Starting and signalling playbook runs: shared by the Alertmanager webhook and the runs API.
import { status as GrpcStatus } from '@grpc/grpc-js';
import { isGrpcServiceError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Alert } from '../alerts/alertmanager';
import type { AlertNotification } from '../alerts/tracker';
import type { RunPlan } from '../playbook/plan';
import { alertNotificationSignal, type PlaybookRunInput } from '../workflows/playbook-run/definitions';
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

/** Starts the run for a firing alert, or signals the run already open for its target: never two runs. */
export async function startOrSignalRun(
  client: Client,
  taskQueue: string,
  workflowId: string,
  plan: RunPlan,
  alert: Alert,
): Promise<void> {
  const input: PlaybookRunInput = {
    plan,
    alert: {
      ...notificationOf(alert),
      labels: alert.labels,
      annotations: alert.annotations,
      generatorURL: alert.generatorURL,
    },
  };
  await client.workflow.signalWithStart<typeof playbookRun, [AlertNotification]>('playbookRun', {
    workflowId,
    taskQueue,
    args: [input],
    signal: alertNotificationSignal,
    signalArgs: [notificationOf(alert)],
  });
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
