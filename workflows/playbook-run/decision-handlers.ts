// The run's handlers for people's decisions: approve or reject the pending approval (an update,
// answered with whether it was taken), refusals recorded from outside (a signal), and abort (an
// update that cancels the steps; the rollback follows). Validators are synchronous on purpose: a
// throw in an async one would not reject the update.
import { ApplicationFailure, log, setHandler } from '@temporalio/workflow';
import { refusalOf } from '../../approvals/four-eyes';
import {
  abortUpdate,
  decideUpdate,
  decisionRefusedSignal,
  type Decision,
  type DecisionAnswer,
  type RefusedDecision,
} from './definitions';
import type { RunContext } from './run-context';

/** Refused decision attempts kept in the status (the history keeps them all). */
const MAX_REFUSALS_KEPT = 50;

export function handleDecisions(ctx: RunContext): void {
  const { status } = ctx;
  /**
   * Keeps the latest refusals: a click loop must not grow the run's state (and what continue-as-new carries) without
   * bound.
   */
  const recordRefusal = (refused: RefusedDecision) => {
    status.refusedDecisions.push(refused);
    if (status.refusedDecisions.length > MAX_REFUSALS_KEPT) {
      status.refusedDecisions.splice(0, status.refusedDecisions.length - MAX_REFUSALS_KEPT);
    }
  };
  const refuseDecision = (attempt: Decision, refusal: string): DecisionAnswer => {
    recordRefusal({ ...attempt, at: new Date().toISOString(), refusal });
    log.warn('decision refused', { step: attempt.stepId, by: attempt.by, refusal });
    return { accepted: false, refusal };
  };
  setHandler(
    decideUpdate,
    (attempt): DecisionAnswer => {
      const refusal = refusalOf(attempt, {
        pending: status.pendingApproval,
        decided: status.decisions,
        rejected: ctx.rejection !== undefined,
        startedBy: ctx.alert.annotations.startedBy,
      });
      if (refusal) return refuseDecision(attempt, refusal);
      const pending = status.pendingApproval!;
      const decision = { ...attempt, at: new Date().toISOString() };
      status.decisions.push(decision);
      if (attempt.approve) pending.approvedBy.push(attempt.by);
      else ctx.rejection = decision;
      return {
        accepted: true,
        decision,
        approvalsStillNeeded: attempt.approve ? pending.approvalsNeeded - pending.approvedBy.length : 0,
      };
    },
    {
      // Synchronous on purpose: an anonymous decision is answered to the caller and never recorded.
      validator: ({ by }) => {
        if (!by)
          throw ApplicationFailure.nonRetryable('a decision needs the identity of who decides', 'InvalidDecision');
      },
    },
  );
  setHandler(decisionRefusedSignal, (attempt) => recordRefusal({ ...attempt, at: new Date().toISOString() }));
  setHandler(
    abortUpdate,
    ({ by, reason }) => {
      ctx.abortReason = `aborted by ${by}: ${reason}`;
      ctx.main.cancel();
      // A change in flight finishes first, and is rolled back with the others.
      return `rolling back ${ctx.compensations.length} change(s)`;
    },
    {
      validator: ({ by, reason }) => {
        if (!by || !reason) throw ApplicationFailure.nonRetryable('an abort needs who asks and why', 'InvalidAbort');
        if (ctx.abortReason || status.rollbackReason) {
          throw ApplicationFailure.nonRetryable(`the run is already ${status.state}`, 'AlreadyEnding');
        }
      },
    },
  );
}
