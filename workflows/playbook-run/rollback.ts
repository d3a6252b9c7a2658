// Undoing a run's changes: every compensation, newest first, outside any cancellation scope so an
// aborted or cancelled run still gets its changes back. An undo that keeps failing is recorded on
// its change and the run ends as rollback-failed; the others are still undone.
import { CancellationScope, log } from '@temporalio/workflow';
import { failureMessage } from '../failures';
import { undo } from './activity-proxies';
import type { RunContext } from './run-context';
import { countChange } from './run-metrics';
import { reportSavings, sampleCost } from './savings-sampling';

/** Undoes every applied change, newest first. Runs to the end even if the run is cancelled. */
export const rollback = (ctx: RunContext, reason: string) =>
  CancellationScope.nonCancellable(async () => {
    const { status, compensations } = ctx;
    status.rollbackReason = reason;
    status.pendingApproval = null;
    ctx.setState('rolling-back');
    let failed = false;
    status.adapting = [];
    // The last sample closes the savings: the rate with every change still in force (a staged rollback took it
    // before its first stage).
    if (status.savings && ctx.changesInForce() && !status.rollback?.sampled) await sampleCost(ctx);
    for (const { stepId, action, request } of compensations.reverse()) {
      // An adapt step's changes all go back with its one compensation.
      const changes = status.applied.filter((applied) => applied.stepId === stepId && applied.undoneAt === null);
      try {
        await undo[action](request);
        for (const change of changes) change.undoneAt = new Date().toISOString();
        countChange(ctx, action, 'undone');
      } catch (error) {
        failed = true;
        countChange(ctx, action, 'undo-failed');
        for (const change of changes) change.undoError = failureMessage(error);
        log.error('undo failed; the change is still in place', { step: stepId, error: failureMessage(error) });
      }
    }
    compensations.length = 0;
    status.currentStep = null;
    ctx.setState(failed ? 'rollback-failed' : 'rolled-back');
    await reportSavings(ctx);
  });
