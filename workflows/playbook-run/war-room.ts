// A war-room step opens a channel (Slack) with a live status message; this keeps that message
// current for as long as the run lasts, including its rollback.
import { CancellationScope, condition } from '@temporalio/workflow';
import { describeSavings } from '../../finops/savings';
import { tell, tellPeople } from './activity-proxies';
import type { RunContext } from './run-context';

/**
 * Keeps the war-room's status message current: after each change to the status, one update
 * (changes made while it is in flight are posted together next). It runs beside the steps and
 * cannot be cancelled, so an abort's rollback shows too; the run waits for the last post before
 * it ends or continues as new (RunContext.warRoomPosted).
 */
export function keepWarRoomPosted(ctx: RunContext, message: { channel: string; ts: string }): void {
  const { status, run } = ctx;
  void CancellationScope.nonCancellable(async () => {
    for (;;) {
      await condition(() => ctx.statusVersion !== ctx.postedVersion);
      const posting = ctx.statusVersion;
      const warRoomStatus = {
        state: status.state,
        currentStep: status.currentStep,
        changes: status.applied
          .filter(({ undoneAt }) => undoneAt === null)
          .map(({ stepId, summary }) => `${stepId}: ${summary}`),
        pendingApproval: status.pendingApproval
          ? `${status.pendingApproval.stepId}: ${status.pendingApproval.summary}`
          : null,
        nextDeadline: status.nextDeadline,
        savings: status.savings && describeSavings(status.savings),
      };
      await tellPeople('update the war-room status', () =>
        tell['warRoom.status']({ message, run, status: warRoomStatus }),
      );
      ctx.postedVersion = posting;
    }
  });
}
