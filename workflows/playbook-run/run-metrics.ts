// The run's part of the engine's metrics: runs started and ended, changes applied, undone and refused, and how long
// approvals took, recorded with the SDK's workflow metricMeter. The SDK records nothing while a workflow replays, and
// a metric adds no event to the history, so these neither count twice nor change a recorded run. The worker serves
// them on its /metrics (observability/temporal-metrics.ts) as finops_soar_runs_started_total and so on.
import { metricMeter } from '@temporalio/workflow';
import type { RunContext } from './run-context';

export type ChangeResult = 'applied' | 'dry-run' | 'refused' | 'undone' | 'undo-failed';

const playbookOf = (ctx: RunContext) => ctx.plan.playbook.name;

export function countRunStarted(ctx: RunContext): void {
  metricMeter
    .createCounter('finops_soar_runs_started', 'runs', 'Playbook runs started, by playbook and severity.')
    .add(1, { playbook: playbookOf(ctx), severity: ctx.status.severity });
}

/** `outcome` is the run's last state (rolled-back, refused, ended-waiting, failed, …) or cancelled. */
export function countRunEnded(ctx: RunContext, outcome: string): void {
  metricMeter
    .createCounter('finops_soar_runs_ended', 'runs', 'Playbook runs ended, by playbook and outcome (their last state).')
    .add(1, { playbook: playbookOf(ctx), outcome });
}

/** `reason` says who refused a change (guardrails, policy, limits); empty otherwise. */
export function countChange(ctx: RunContext, action: string, result: ChangeResult, reason = ''): void {
  metricMeter
    .createCounter(
      'finops_soar_changes',
      'changes',
      'Changes runs made, by playbook, action and result (applied, dry-run, refused with the reason: guardrails, policy or limits; undone, undo-failed).',
    )
    .add(1, { playbook: playbookOf(ctx), action, result, reason });
}

export function observeApprovalDecision(ctx: RunContext, outcome: string, seconds: number): void {
  metricMeter
    .createHistogram(
      'finops_soar_approval_decision_seconds',
      'float',
      's',
      'From an approval request to its outcome (approved, rejected, timed out, moot), by playbook.',
    )
    .record(seconds, { playbook: playbookOf(ctx), outcome });
}
