// When a waiting approval nudges people: a reminder after `remindAfter`, and an escalation (which
// also mentions groups and posts elsewhere) after `escalate.after`, both from the moment it was
// asked. A nudge due at or after the timeout is never sent: the timeout's outcome comes first.
// Pure, so the schedule is tested without a server.
import type { ApprovalNudge } from '../notify/notifier';
import type { PlannedStep } from '../playbook/plan';

type ApprovalStep = Extract<PlannedStep, { kind: 'approval' }>;

export interface ScheduledNudge {
  /** Milliseconds after the approval was asked. */
  afterMs: number;
  nudge: ApprovalNudge;
}

/** The step's nudges in the order they are due. */
export function nudgeSchedule(step: Pick<ApprovalStep, 'remindAfterMs' | 'escalate' | 'timeoutMs'>): ScheduledNudge[] {
  return [
    { afterMs: step.remindAfterMs, nudge: { kind: 'reminder' as const, mention: [], alsoTo: [] } },
    ...(step.escalate
      ? [
          {
            afterMs: step.escalate.afterMs,
            nudge: { kind: 'escalation' as const, mention: step.escalate.mention, alsoTo: step.escalate.alsoTo },
          },
        ]
      : []),
  ]
    .filter(({ afterMs }) => afterMs < step.timeoutMs)
    .sort((a, b) => a.afterMs - b.afterMs);
}
