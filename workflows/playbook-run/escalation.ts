// Escalation: a run whose alert still fires some time after its steps (or whose last verify step
// saw the metric not move) runs the more severe playbook's steps in the same run, under that
// playbook's severity. Once per run.
import { log, upsertSearchAttributes } from '@temporalio/workflow';
import type { RunPlan } from '../../playbook/plan';
import { SEARCH_ATTRIBUTES } from '../search-attributes';
import { seconds, type RunContext } from './run-context';
import { runSteps } from './steps';
import { waitUntil } from './waiting';

/** Still firing `afterMs` after the steps → the more severe playbook's steps run in this run. */
export async function escalateIfStillFiring(ctx: RunContext, escalation: NonNullable<RunPlan['escalation']>) {
  const { status, plan } = ctx;
  if (status.escalation || !ctx.firing() || status.state === 'rolled-back') return;
  ctx.escalateAt ??= new Date(Date.now() + (ctx.escalateNow ? 0 : escalation.afterMs)).toISOString();
  const waitMs = Math.max(0, Date.parse(ctx.escalateAt) - Date.now());
  if (await waitUntil(ctx, () => !ctx.firing() || ctx.historyFull(), waitMs)) {
    if (ctx.firing()) await ctx.continueWithFreshHistory();
    return;
  }
  const to = escalation.plan.playbook;
  status.severity = to.severity;
  const reason = ctx.escalateNow
    ? `the steps of ${plan.playbook.name} did not move the metric (${ctx.escalateNow})`
    : `still firing ${seconds(escalation.afterMs)} after the steps of ${plan.playbook.name}`;
  status.escalation = { to: to.name, reason, at: new Date().toISOString() };
  upsertSearchAttributes([{ key: SEARCH_ATTRIBUTES.severity, value: to.severity }]);
  log.warn('escalating', status.escalation);
  ctx.setState('applying');
  await runSteps(ctx, escalation.plan.steps, to.severity, to.name);
}
