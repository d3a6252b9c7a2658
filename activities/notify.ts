// Telling people: notifications, war-rooms and approval requests, through the configured Notifier.
import type { ApprovalNudge, ApprovalOutcome, ApprovalRequest, MessageRef, Notification, Notifier, WarRoomRequest } from '../notifications/notifier';

/** An approval request as the workflow knows it: the link to the run is added here, where the Temporal UI's address is known. */
export type ApprovalAsk = Omit<ApprovalRequest, 'links'> & { alertUrl: string | null };

export interface NotifyActivities {
  'notify.send': (notification: Notification) => Promise<void>;
  'warRoom.open': (request: WarRoomRequest) => Promise<{ location: string }>;
  'approval.request': (request: ApprovalAsk) => Promise<MessageRef>;
  'approval.settle': (settled: { message: MessageRef; request: ApprovalAsk; outcome: ApprovalOutcome }) => Promise<void>;
  'approval.nudge': (nudged: { message: MessageRef; request: ApprovalAsk; nudge: ApprovalNudge }) => Promise<void>;
}

/** `runUrl` gives a run's page in the Temporal UI, for the links in approval requests. */
export function createNotifyActivities(notifier: Notifier, runUrl: (workflowId: string) => string): NotifyActivities {
  const withLinks = ({ alertUrl, ...request }: ApprovalAsk): ApprovalRequest => ({ ...request, links: { alert: alertUrl, run: runUrl(request.run.workflowId) } });
  return {
    'notify.send': (notification) => notifier.notify(notification),
    'warRoom.open': (request) => notifier.openWarRoom(request),
    'approval.request': (request) => notifier.requestApproval(withLinks(request)),
    'approval.settle': ({ message, request, outcome }) => notifier.settleApproval(message, withLinks(request), outcome),
    'approval.nudge': ({ message, request, nudge }) => notifier.nudgeApproval(message, withLinks(request), nudge),
  };
}
