// A run's first change, asked for beside its admission. A playbook that opens with a change (a cap, a quota; the
// shipped ones open with a check, whose facts their first change's `when` reads, so they cannot) would otherwise
// ask the limits' shards twice, one answer after the other: a slot, then the change's reservation; and each
// question costs the run two workflow tasks and its shard one (docs/scale.md).
// So a new run asks the policy first (a local activity, beside the one that reads the limits), and its admission
// request carries the change's part at the target's shard, which reserves it only if it grants the slot; the
// other shards' parts (objects that hash elsewhere) follow at once, together. Admitted at once with every shard
// granting, its first step applies at once; a run sent to wait holds nothing.
import { unmetCondition } from '../../playbook/conditions';
import type { ReserveRequest } from '../limits/protocol';
import { reservationParts } from './limits-requests';
import { checkPolicy, type PolicyAnswer } from './policy-check';
import type { RunContext } from './run-context';

export interface FirstChange {
  /** The change's idempotency key: it names the change at the shards and in takeFirstChange. */
  key: string;
  policy: PolicyAnswer;
  /** Its reservation, shard by shard; none when the policy refused it. */
  parts: Array<{ shard: number; request: ReserveRequest }>;
  /** Admitted at its first request, with every shard granting the reservation (or the policy refused it). */
  ready: boolean;
}

/** The run's first change, asked of the policy and ready to reserve, when its playbook opens with one. */
export async function prepareFirstChange(ctx: RunContext): Promise<FirstChange | undefined> {
  const { plan, status, alert } = ctx;
  const step = plan.steps[0];
  if (!step || step.kind !== 'action' || step.skip || status.dryRun) return undefined;
  // The same test runSteps makes of the first step: nothing has been learned yet that could change its answer.
  if (unmetCondition(step.when, { labels: alert.labels, severity: plan.playbook.severity, facts: status.facts }))
    return undefined;
  const key = ctx.actionRequest(step.id, step.params, 'apply').idempotencyKey;
  const [policy, parts] = await Promise.all([
    checkPolicy(ctx, step.action, step.params, { recent: true }),
    reservationParts(ctx, key, step.objects),
  ]);
  return { key, policy, parts: 'refused' in policy ? [] : parts, ready: false };
}

/**
 * The policy's answer for the change `key`, once, when it is the run's first change and was reserved with the
 * admission; a run that had to wait asks again when its turn comes (the answer may have changed meanwhile).
 */
export function takeFirstChange(ctx: RunContext, key: string): PolicyAnswer | undefined {
  const first = ctx.firstChange;
  if (!first || first.key !== key) return undefined;
  ctx.firstChange = undefined;
  return first.ready ? first.policy : undefined;
}
