// Making a change: ask the policy (OPA or the built-in rules), reserve it within the engine's
// limits, sample the cost rate before it, apply it once (its idempotency key is the run and step),
// and push how to undo it on the compensation stack. A refusal skips the step with its reason; a
// failure rolls back what the run changed so far and fails the run.
import { ApplicationFailure, CancellationScope, isCancellation } from '@temporalio/workflow';
import type { ActionOutcome } from '../../activities/action-contract';
import type { PlannedStep } from '../../playbook/plan';
import type { ActionName } from '../../playbook/step-registry';
import { GATEWAY_NOT_SET_UP } from '../../gateway/gateway-failures';
import { REFUSED_BY_GUARDRAILS } from '../../policy/guardrails';
import { failureMessage, failureType } from '../failures';
import { apply, limits } from './activity-proxies';
import type { PolicyRecord } from './definitions';
import { takeFirstChange } from './first-change';
import { reserve as reserveChange } from './limits-requests';
import { checkPolicy, type Refused } from './policy-check';
import { rollback } from './rollback';
import type { RunContext } from './run-context';
import { countChange } from './run-metrics';
import { sampleCost } from './savings-sampling';

export type { Refused } from './policy-check';
export type Applied = { outcome: ActionOutcome; costBefore: number | null; policy: PolicyRecord | null };

/** Reserves a change within the engine's limits: null once reserved, else why not. */
async function reserveWithinLimits(ctx: RunContext, key: string, objects: string[]): Promise<Refused | null> {
  const { status, plan } = ctx;
  // A run admitted by the limits' shards reserves there; one from before them, at the engineLimits workflow.
  const admission = status.admission;
  if (admission) {
    const reservation = await reserveChange(ctx, key, objects);
    if (!reservation.granted) return { refused: reservation.reason, by: 'limits' };
    for (const shard of reservation.shards) if (!admission.shards.includes(shard)) admission.shards.push(shard);
    return null;
  }
  const reservation = await limits['limits.reserveAction']({
    workflowId: ctx.workflowId,
    target: plan.target.key,
    key,
    objects,
  });
  return reservation.granted ? null : { refused: reservation.reason, by: 'limits' };
}

/**
 * Applies one change, within the limits and guardrails: answers its outcome, or why it was refused.
 * `keyId` names the change in its idempotency keys (an adapt step makes several).
 */
export async function applyChange(
  ctx: RunContext,
  keyId: string,
  action: ActionName,
  params: unknown,
  objects: string[],
): Promise<Applied | Refused> {
  const request = ctx.actionRequest(keyId, params, 'apply');
  // The run's first change may have been asked of the policy and reserved with its admission (first-change.ts).
  const asked = takeFirstChange(ctx, request.idempotencyKey);
  const decision = asked ?? (await checkPolicy(ctx, action, params));
  if ('refused' in decision) return refusedChange(ctx, action, decision);
  const { policy } = decision;
  if (!asked && !ctx.status.dryRun) {
    const refusal = await reserveWithinLimits(ctx, request.idempotencyKey, objects);
    if (refusal) return refusedChange(ctx, action, refusal);
  }
  const costBefore = await sampleCost(ctx);
  try {
    // A change in flight when the run is aborted finishes and is recorded, so the rollback undoes
    // it too; cancelled half-way, it could be made at the gateway and never undone.
    const outcome = await CancellationScope.nonCancellable(() => apply[action](request));
    countChange(ctx, action, ctx.status.dryRun ? 'dry-run' : 'applied');
    return { outcome, costBefore, policy };
  } catch (error) {
    if (!isCancellation(error) && failureType(error) === REFUSED_BY_GUARDRAILS) {
      return refusedChange(ctx, action, { refused: failureMessage(error), by: 'guardrails' });
    }
    throw error;
  }
}

function refusedChange(ctx: RunContext, action: ActionName, refusal: Refused): Refused {
  countChange(ctx, action, 'refused', refusal.by);
  return refusal;
}

/**
 * Records an applied change, and how to undo it unless an earlier change of the step already restores the same fields.
 */
export function recordChange(
  ctx: RunContext,
  stepId: string,
  keyId: string,
  action: ActionName,
  { outcome, costBefore, policy }: Applied,
  compensate: boolean,
): void {
  const { status, plan } = ctx;
  const appliedAt = new Date().toISOString();
  const costs = status.savings ? { costBeforeUsdPerHour: costBefore, costAfterUsdPerHour: null } : {};
  status.applied.push({
    stepId,
    action,
    summary: outcome.summary,
    previous: outcome.previous,
    dryRun: status.dryRun,
    appliedAt,
    undoneAt: null,
    undoError: null,
    ...costs,
    ...(policy && { policy }),
  });
  if (outcome.undo && compensate) {
    ctx.compensations.push({
      stepId,
      action: outcome.undo.action,
      request: ctx.actionRequest(keyId, outcome.undo.params, 'undo'),
      ...(outcome.applied !== undefined && { applied: outcome.applied }),
    });
  }
  if (status.savings && !status.savings.nextAt && plan.savings) {
    status.savings.nextAt = new Date(Date.now() + plan.savings.everyMs).toISOString();
  }
  ctx.summarize();
}

/** An action step: one change; a failure rolls back the run's earlier changes and fails the run. */
export async function runAction(ctx: RunContext, stepId: string, step: Extract<PlannedStep, { kind: 'action' }>) {
  let result;
  try {
    result = await applyChange(ctx, stepId, step.action, step.params, step.objects);
  } catch (error) {
    if (isCancellation(error)) throw error;
    // A failure type no recorded run holds: runs from before it replay unchanged.
    if (step.skipWhereNotSetUp && failureType(error) === GATEWAY_NOT_SET_UP) {
      countChange(ctx, step.action, 'refused', 'gateway');
      return ctx.skip(stepId, `the gateway is not set up for it: ${failureMessage(error)}`);
    }
    const reason = `step ${stepId} (${step.action}) failed: ${failureMessage(error)}`;
    await rollback(ctx, reason);
    if (ctx.status.state === 'rolled-back') ctx.setState('failed');
    throw ApplicationFailure.nonRetryable(`${reason}; the earlier changes were rolled back`, 'StepFailed');
  }
  if ('refused' in result) return ctx.skip(stepId, `refused: ${result.refused}`);
  recordChange(ctx, stepId, stepId, step.action, result, true);
}
