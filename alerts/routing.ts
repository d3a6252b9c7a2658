// Routes each alert of a notification to the playbooks whose matchers it satisfies, and names the
// run (playbook × target) it belongs to. Pure: no Temporal calls happen here.
import type { Playbook } from '../playbook/schema';
import { planRun, type RunPlan } from '../playbook/plan';
import { playbookRunId } from '../workflows/ids';
import type { Alert } from './alertmanager';
import { matchesAll } from './matchers';
import { targetOf } from './target';

export type RoutingDecision =
  | { outcome: 'unrouted'; alert: Alert }
  | { outcome: 'rejected'; alert: Alert; playbook: string; reason: string }
  | { outcome: 'routed'; alert: Alert; workflowId: string; plan: RunPlan };

export function routeAlert(alert: Alert, playbooks: readonly Playbook[], defaults: { cooldownMs: number }): RoutingDecision[] {
  const matching = playbooks.filter(({ spec }) => matchesAll(spec.match, alert.labels));
  if (matching.length === 0) return [{ outcome: 'unrouted', alert }];
  return matching.map((playbook): RoutingDecision => {
    const { name, target: kind } = playbook.spec;
    const target = targetOf(kind, alert.labels);
    if (!target.ok) return { outcome: 'rejected', alert, playbook: name, reason: `a ${kind} target needs the label(s) ${target.missing.join(', ')}` };
    const planned = planRun(playbook, alert, target.target, defaults);
    if (!planned.ok) return { outcome: 'rejected', alert, playbook: name, reason: planned.problem };
    return { outcome: 'routed', alert, workflowId: playbookRunId(name, target.target.key), plan: planned.plan };
  });
}

export const routeAlerts = (alerts: readonly Alert[], playbooks: readonly Playbook[], defaults: { cooldownMs: number }) =>
  alerts.flatMap((alert) => routeAlert(alert, playbooks, defaults));
