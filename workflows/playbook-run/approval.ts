// An approval step: ask (Slack or the log), nudge on schedule, and wait for enough approvals, a
// rejection, the alert to resolve, or the timeout. Decisions arrive through the decide update
// (decision-handlers.ts, held to approvals/four-eyes.ts); the outcome is posted back to the request.
import { patched } from '@temporalio/workflow';
import { approvalOutcome } from '../../approvals/four-eyes';
import { nudgeSchedule } from '../../approvals/nudge-schedule';
import { describeSavings } from '../../finops/savings';
import type { ApprovalAsk } from '../../notify/notify-activities';
import type { PlannedStep } from '../../playbook/plan';
import { tell, tellPeople } from './activity-proxies';
import { rollback } from './rollback';
import { seconds, type RunContext } from './run-context';
import { observeApprovalDecision } from './run-metrics';
import { waitUntil } from './waiting';

/** Steps after a rejected approval do not run; this ends the step loop. */
export class Rejected extends Error {}

/**
 * Waits for the step's decision: returns when approved, throws Rejected otherwise (after a rollback if the step says
 * so).
 */
export async function runApproval(ctx: RunContext, stepId: string, step: Extract<PlannedStep, { kind: 'approval' }>) {
  const { status, alert, run } = ctx;
  ctx.rejection = undefined;
  // Runs recorded before approvals were posted and nudged keep their history: no messages there,
  // and their plans name no number of approvers (one).
  const messaging = patched('approval-messages');
  const approvalsNeeded = messaging ? step.approvalsNeeded : 1;
  const startedAt = Date.now();
  const deadline = new Date(startedAt + step.timeoutMs).toISOString();
  const pending = {
    stepId,
    summary: step.summary,
    deadline,
    approvalsNeeded,
    approvedBy: [] as string[],
    message: null as { channel: string; ts: string } | null,
  };
  status.pendingApproval = pending;
  ctx.setState('awaiting-approval');
  const request: ApprovalAsk = {
    run,
    stepId,
    summary: step.summary,
    reason: `${alert.labels.alertname ?? 'alert'}: ${alert.annotations.summary ?? alert.annotations.description ?? 'no summary'}`,
    costImpact: status.savings && describeSavings(status.savings),
    deadline,
    approvalsNeeded,
    to: step.to,
    alertUrl: alert.generatorURL ?? null,
  };
  if (messaging) {
    await tellPeople('ask for approval', async () => (pending.message = await tell['approval.request'](request)));
  }

  // A resolution makes the question moot: nothing more is applied for an alert that is gone.
  const decided = () => ctx.rejection !== undefined || pending.approvedBy.length >= approvalsNeeded || !ctx.firing();
  for (const { afterMs, nudge } of messaging ? nudgeSchedule(step) : []) {
    if (await waitUntil(ctx, decided, Math.max(0, startedAt + afterMs - Date.now()))) break;
    await tellPeople(`send a ${nudge.kind}`, () =>
      tell['approval.nudge']({ message: pending.message, request, nudge }),
    );
  }
  await waitUntil(ctx, decided, Math.max(0, startedAt + step.timeoutMs - Date.now()));
  status.pendingApproval = null;
  ctx.setState('applying');

  const outcome = approvalOutcome({
    rejected: ctx.rejection !== undefined,
    approvals: pending.approvedBy.length,
    approvalsNeeded,
    firing: ctx.firing(),
    onTimeout: step.onTimeout,
  });
  observeApprovalDecision(ctx, outcome, (Date.now() - startedAt) / 1000);
  if (outcome === 'timed out: approved' || outcome === 'timed out: rejected') {
    const timedOut = {
      stepId,
      approve: step.onTimeout === 'approve',
      by: 'timeout',
      reason: `no decision within ${seconds(step.timeoutMs)}`,
      at: new Date().toISOString(),
    };
    status.decisions.push(timedOut);
    if (!timedOut.approve) ctx.rejection = timedOut;
  }
  const decisions = status.decisions.filter((decision) => decision.stepId === stepId);
  if (messaging) {
    await tellPeople('record the outcome', () =>
      tell['approval.settle']({ message: pending.message, request, outcome: { outcome, decisions } }),
    );
  }

  if (outcome === 'moot: the alert resolved') throw new Rejected(`${stepId}: the alert resolved before anyone decided`);
  const { rejection } = ctx;
  if (!rejection) return;
  const reason = `${stepId} rejected by ${rejection.by}${rejection.reason ? ` (${rejection.reason})` : ''}`;
  if (step.onReject === 'rollback') await rollback(ctx, reason);
  throw new Rejected(reason);
}
