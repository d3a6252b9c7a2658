// Telling people: notifications, war-rooms and approval requests, through the configured Notifier.
import { ApplicationFailure } from '@temporalio/common';
import type {
  ApprovalNudge,
  ApprovalOutcome,
  ApprovalRequest,
  MessageRef,
  Notification,
  Notifier,
  RunReference,
  WarRoomRequest,
  WarRoomStatus,
} from './notifier';

/**
 * An approval request as the workflow knows it: the link to the run is added here, where the Temporal UI's address is
 * known.
 */
export type ApprovalAsk = Omit<ApprovalRequest, 'links'> & { alertUrl: string | null };

export interface NotifyActivities {
  'notify.send': (notification: Notification) => Promise<void>;
  'warRoom.open': (request: WarRoomRequest) => Promise<{ location: string; statusMessage: MessageRef }>;
  'warRoom.status': (update: { message: MessageRef; run: RunReference; status: WarRoomStatus }) => Promise<void>;
  'approval.request': (request: ApprovalAsk) => Promise<MessageRef>;
  'approval.settle': (settled: {
    message: MessageRef;
    request: ApprovalAsk;
    outcome: ApprovalOutcome;
  }) => Promise<void>;
  'approval.nudge': (nudged: { message: MessageRef; request: ApprovalAsk; nudge: ApprovalNudge }) => Promise<void>;
}

/**
 * A notifier's failure as Temporal should see it: errors that say trying again cannot help (a
 * missing channel, a bad token) are not retried.
 */
export async function told<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    const { retryable } = error as { retryable?: unknown };
    if (retryable === false) throw ApplicationFailure.nonRetryable((error as Error).message, 'NotifierRejected');
    throw error;
  }
}

/** `runUrl` gives a run's page in the Temporal UI, for the links in approval requests. */
export function createNotifyActivities(notifier: Notifier, runUrl: (workflowId: string) => string): NotifyActivities {
  const withLinks = ({ alertUrl, ...request }: ApprovalAsk): ApprovalRequest => ({
    ...request,
    links: { alert: alertUrl, run: runUrl(request.run.workflowId) },
  });
  return {
    'notify.send': (notification) => told(() => notifier.notify(notification)),
    'warRoom.open': (request) => told(() => notifier.openWarRoom(request)),
    'warRoom.status': ({ message, run, status }) => told(() => notifier.updateWarRoomStatus(message, run, status)),
    'approval.request': (request) => told(() => notifier.requestApproval(withLinks(request))),
    'approval.settle': ({ message, request, outcome }) =>
      told(() => notifier.settleApproval(message, withLinks(request), outcome)),
    'approval.nudge': ({ message, request, nudge }) =>
      told(() => notifier.nudgeApproval(message, withLinks(request), nudge)),
  };
}
