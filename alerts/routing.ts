// Routes each alert of a notification to the playbooks whose matchers it satisfies, and names the
// run (playbook × target) it belongs to. Pure: no Temporal calls happen here.
import type { Playbook } from '../playbook/playbook-schema';
import { planRun, type CapaDefaults, type RunPlan } from '../playbook/plan';
import { playbookRunId } from '../workflows/ids';
import type { Alert } from './alertmanager';
import { matchesAll } from './matchers';
import { targetOf } from './target';
import type { GatewayKind } from '../gateway/gateway-knobs';

export type RoutingDecision =
  | { outcome: 'unrouted'; alert: Alert }
  | { outcome: 'rejected'; alert: Alert; playbook: string; reason: string }
  | { outcome: 'routed'; alert: Alert; workflowId: string; plan: RunPlan };

export interface RunDefaults {
  cooldownMs: number;
  dryRun?: boolean;
  /** After this long without a notification, a run asks Alertmanager whether its alert is still active. */
  staleAfterMs?: number | undefined;
  /** The configured gateway: steps it cannot do are skipped (`unsupported: skip`) or refused. */
  gateway?: GatewayKind | undefined;
  /** finops.capa: the families whose runs open a CAPA; absent, none does. */
  capa?: CapaDefaults | undefined;
}

/**
 * Plans `playbook` (and the playbook it escalates to) for `alert`, whether the alert matched it or a person chose it.
 */
export function routeToPlaybook(
  alert: Alert,
  playbook: Playbook,
  playbooks: readonly Playbook[],
  defaults: RunDefaults,
): RoutingDecision {
  const { name, target: kind } = playbook.spec;
  const target = targetOf(kind, alert.labels);
  if (!target.ok)
    return {
      outcome: 'rejected',
      alert,
      playbook: name,
      reason: `a ${kind} target needs the label(s) ${target.missing.join(', ')}`,
    };
  const planned = planRun(playbook, alert, target.target, defaults);
  if (!planned.ok) return { outcome: 'rejected', alert, playbook: name, reason: planned.problem };
  const { escalation } = playbook.spec;
  const escalateTo = escalation && playbooks.find(({ spec }) => spec.name === escalation.to);
  if (escalation && escalateTo) {
    // Planned now, for the same alert and target, so the run's snapshot holds both playbooks.
    const escalated = planRun(escalateTo, alert, target.target, defaults);
    if (!escalated.ok)
      return {
        outcome: 'rejected',
        alert,
        playbook: name,
        reason: `escalation to ${escalation.to}: ${escalated.problem}`,
      };
    planned.plan.escalation = { afterMs: escalation.after, plan: escalated.plan };
  }
  return { outcome: 'routed', alert, workflowId: playbookRunId(name, target.target.key), plan: planned.plan };
}

export function routeAlert(alert: Alert, playbooks: readonly Playbook[], defaults: RunDefaults): RoutingDecision[] {
  // A playbook without matchers is started by hand only.
  const matching = playbooks.filter(({ spec }) => spec.match && matchesAll(spec.match, alert.labels));
  if (matching.length === 0) return [{ outcome: 'unrouted', alert }];
  return matching.map((playbook) => routeToPlaybook(alert, playbook, playbooks, defaults));
}

export const routeAlerts = (alerts: readonly Alert[], playbooks: readonly Playbook[], defaults: RunDefaults) =>
  alerts.flatMap((alert) => routeAlert(alert, playbooks, defaults));
