// The rules an approval decision is held to, whoever sends it (Slack, the runs API, any Temporal
// client): only the pending step can be decided, once; whoever started a run by hand may stop it but
// not approve it; nobody approves the same step twice. Pure, so the workflow's update handler and
// the unit tests share one definition.
import type { ApprovalOutcome } from '../notify/notifier';
import type { Decision } from '../workflows/playbook-run/definitions';

/** What the rules read of the approval that is waiting. */
export interface PendingApproval {
  stepId: string;
  approvalsNeeded: number;
  approvedBy: readonly string[];
}

export interface DecisionContext {
  pending: PendingApproval | null;
  /** Steps decided so far (a decision names its step). */
  decided: ReadonlyArray<{ stepId: string }>;
  /** A rejection already ends the pending approval. */
  rejected: boolean;
  /** Who started the run by hand (the alert's `startedBy` annotation), if anyone. */
  startedBy: string | undefined;
}

/** Why the run cannot take `attempt` now, or undefined when it can. */
export function refusalOf({ stepId, by, approve }: Decision, context: DecisionContext): string | undefined {
  const { pending } = context;
  if (pending?.stepId !== stepId || context.rejected || pending.approvedBy.length >= pending.approvalsNeeded) {
    return context.decided.some((decided) => decided.stepId === stepId)
      ? `step ${stepId} was already decided`
      : `step ${stepId} is not waiting for approval`;
  }
  if (approve && by === context.startedBy)
    return `${by} started this run and cannot approve its steps; ask someone else`;
  if (approve && pending.approvedBy.includes(by)) {
    return `${by} already approved step ${stepId}; it needs ${pending.approvalsNeeded} different people`;
  }
  return undefined;
}

/**
 * How a finished wait for approval ends: a rejection wins, then enough approvals; a resolved alert
 * makes the question moot; otherwise the step's declared timeout outcome applies.
 */
export function approvalOutcome(ended: {
  rejected: boolean;
  approvals: number;
  approvalsNeeded: number;
  firing: boolean;
  onTimeout: 'approve' | 'reject';
}): ApprovalOutcome['outcome'] {
  if (ended.rejected) return 'rejected';
  if (ended.approvals >= ended.approvalsNeeded) return 'approved';
  if (!ended.firing) return 'moot: the alert resolved';
  return ended.onTimeout === 'approve' ? 'timed out: approved' : 'timed out: rejected';
}
