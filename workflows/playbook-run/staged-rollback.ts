// A staged rollback (plan.rollback, playbook/rollback-schema.ts): the changes come back stage by stage, each stage
// watched for a stabilisation window against the guard metric and the alert. A breach or a re-fire puts the stage
// back (through the policy, the limits and the guardrails, like any change) and holds, twice as long each time, before
// the stage is tried again; a re-fire leaves the run mitigated until the alert resolves and the cooldown passes once
// more. Everything it does is in status.rollback.events. Only runs whose plan has `rollback` come here, so runs from
// before it replay unchanged.
import { CancellationScope, isCancellation, log } from '@temporalio/workflow';
import type { PlannedStep, StagedRollback } from '../../playbook/plan';
import { stepBackParams } from '../../playbook/step-back';
import type { ActionName } from '../../playbook/step-registry';
import { failureMessage } from '../failures';
import { undo } from './activity-proxies';
import { applyChange, recordChange } from './changes';
import type { Compensation, RollbackProgress } from './definitions';
import { measureNow } from './measure';
import { seconds, type RunContext } from './run-context';
import { countChange } from './run-metrics';
import { sampleCost } from './savings-sampling';
import { waitUntil } from './waiting';

/** How a staged rollback ended: every stage done, paused by a re-fire (the run is mitigated again), or an undo failed. */
export type StagedEnd = 'done' | 'fired' | 'failed';

const now = () => new Date().toISOString();

function note(ctx: RunContext, progress: RollbackProgress, event: string): void {
  progress.events.push({ at: now(), stage: progress.stage + 1, event });
  log.info('staged rollback', { stage: progress.stage + 1, event });
  ctx.summarize();
}

/** The stages as the run goes through them: the changes no stage names come back first, at once. */
function startProgress(ctx: RunContext, spec: StagedRollback): RollbackProgress {
  const named = new Set(spec.stages.flatMap(({ undo: steps }) => steps));
  const unnamed = [...ctx.compensations]
    .reverse()
    .map(({ stepId }) => stepId)
    .filter((stepId) => !named.has(stepId));
  return {
    stages: [...(unnamed.length > 0 ? [{ undo: [...new Set(unnamed)], by: 1 }] : []), ...spec.stages],
    stage: 0,
    back: {},
    undone: [],
    attempt: 0,
    holds: 0,
    lastHoldMs: 0,
    heldBecause: null,
    holdUntil: null,
    sampled: false,
    events: [],
  };
}

/** The planned step of a step id in the status (an escalated one is `<playbook>/<id>`). */
function plannedStep({ plan }: RunContext, stepId: string): PlannedStep | undefined {
  const escalated = plan.escalation && stepId.startsWith(`${plan.escalation.plan.playbook.name}/`);
  const steps = escalated ? plan.escalation!.plan.steps : plan.steps;
  const id = escalated ? stepId.slice(plan.escalation!.plan.playbook.name.length + 1) : stepId;
  return steps.find((step) => step.id === id);
}

/** Undoes one stage; answers the steps it moved, or 'failed' (recorded on the change; the final rollback retries). */
async function undoStage(ctx: RunContext, progress: RollbackProgress): Promise<string[] | 'failed'> {
  const { compensations, status } = ctx;
  const { undo: steps, by } = progress.stages[progress.stage]!;
  const moved: string[] = [];
  for (const stepId of steps) {
    const compensation = compensations.find((candidate) => candidate.stepId === stepId);
    if (!compensation) continue;
    const all = by >= 1;
    // A change its action did not say it set (ActionOutcome.applied) cannot step: it waits for its last stage.
    if (!all && compensation.applied === undefined) continue;
    const params = all
      ? compensation.request.params
      : stepBackParams(compensation.action, compensation.request.params, compensation.applied, by);
    const keyId = `${stepId}#rollback-${progress.attempt + 1}.${progress.stage + 1}`;
    const request = {
      ...compensation.request,
      params,
      idempotencyKey: ctx.actionRequest(keyId, null, 'undo').idempotencyKey,
    };
    const changes = status.applied.filter((applied) => applied.stepId === stepId && applied.undoneAt === null);
    try {
      const outcome = await CancellationScope.nonCancellable(() => undo[compensation.action](request));
      note(ctx, progress, `${stepId} back ${all ? 'all the way' : `by ${by}`}: ${outcome.summary}`);
    } catch (error) {
      if (isCancellation(error)) throw error;
      countChange(ctx, compensation.action, 'undo-failed');
      for (const change of changes) change.undoError = failureMessage(error);
      note(ctx, progress, `${stepId}: undoing failed, the change is still in place: ${failureMessage(error)}`);
      return 'failed';
    }
    progress.back[stepId] = by;
    if (all) {
      compensations.splice(compensations.indexOf(compensation), 1);
      progress.undone.push(compensation);
      for (const change of changes) change.undoneAt = now();
      countChange(ctx, compensation.action, 'undone');
      // An adapt step undone adapts again from nothing if the alert fires again.
      for (const adapting of status.adapting) if (adapting.stepId === stepId) adapting.level = null;
    }
    moved.push(stepId);
  }
  return moved;
}

/** Watches a stage for the stabilisation window: null when it held, else what broke. */
async function watch(ctx: RunContext, spec: StagedRollback, progress: RollbackProgress): Promise<string | null> {
  const windowMs = spec.stabiliseMs * ctx.holdFactor();
  const { guard } = spec;
  let deadline = Date.now() + windowMs;
  let unanswered = false;
  note(
    ctx,
    progress,
    `watching for ${seconds(windowMs)}${guard ? ` (${guard.measure.fact} every ${seconds(guard.everyMs)})` : ''}`,
  );
  for (;;) {
    if (ctx.firing()) return 'the alert fired again';
    if (guard) {
      const measured = await measureNow(ctx, guard.measure);
      if ('value' in measured) {
        const { value } = measured;
        unanswered = false;
        if (guard.breaksAbove !== undefined && value > guard.breaksAbove)
          return `${guard.measure.fact} is ${value}, above ${guard.breaksAbove}`;
        if (guard.breaksBelow !== undefined && value < guard.breaksBelow)
          return `${guard.measure.fact} is ${value}, below ${guard.breaksBelow}`;
      } else {
        // Without an answer the stage is not known to hold: the window starts again once the guard answers.
        if (!unanswered) note(ctx, progress, `the guard gave no answer (${measured.problem}): the window starts again`);
        unanswered = true;
        deadline = Date.now() + windowMs;
      }
    }
    if (Date.now() >= deadline) return null;
    // A long wait in a rollback that keeps restarting continues with a fresh history (the progress is in the status).
    if (ctx.historyFull()) await ctx.continueWithFreshHistory();
    const waitMs = guard ? Math.min(guard.everyMs, deadline - Date.now()) : deadline - Date.now();
    await waitUntil(ctx, ctx.firing, Math.max(1, waitMs));
  }
}

/**
 * The change that puts `kept`'s step back to `to` of the way: a stepping change with its undo action (it sets a
 * value), another with its step's own action and params; an adapt step adapts again by itself if the alert fires.
 */
function putBackChange(
  ctx: RunContext,
  kept: Compensation,
  to: number,
): { action: ActionName; params: unknown; objects: string[] } | 'adapts' | null {
  const step = plannedStep(ctx, kept.stepId);
  if (!step) return null;
  if (step.kind === 'adapt') return 'adapts';
  const objects = step.kind === 'action' ? step.objects : [];
  if (to > 0)
    return { action: kept.action, params: stepBackParams(kept.action, kept.request.params, kept.applied, to), objects };
  if (kept.applied !== undefined) return { action: kept.action, params: kept.applied, objects };
  return step.kind === 'action' ? { action: step.action, params: step.params, objects } : null;
}

/** Puts the stage's changes back where they were before it, newest first, each a change of its own. */
async function putBack(ctx: RunContext, progress: RollbackProgress, moved: string[], from: Record<string, number>) {
  const { compensations } = ctx;
  for (const stepId of [...moved].reverse()) {
    const undoneAt = progress.undone.findIndex((compensation) => compensation.stepId === stepId);
    const kept = undoneAt >= 0 ? progress.undone[undoneAt]! : compensations.find((c) => c.stepId === stepId);
    if (!kept) continue;
    const to = from[stepId] ?? 0;
    const change = putBackChange(ctx, kept, to);
    if (change === null || change === 'adapts') {
      if (undoneAt >= 0) progress.undone.splice(undoneAt, 1);
      note(
        ctx,
        progress,
        `${stepId} is not put back: ${change ? 'it adapts again if the alert fires' : 'no step to put back'}`,
      );
      continue;
    }
    const keyId = `${stepId}#reapply-${progress.attempt + 1}`;
    let result;
    try {
      result = await applyChange(ctx, keyId, change.action, change.params, change.objects);
    } catch (error) {
      if (isCancellation(error)) throw error;
      note(ctx, progress, `${stepId}: putting it back failed: ${failureMessage(error)}`);
      continue;
    }
    if ('refused' in result) {
      note(ctx, progress, `${stepId} is not put back: ${result.refused}`);
      continue;
    }
    recordChange(ctx, stepId, keyId, change.action, result, false);
    progress.back[stepId] = to;
    // Its undo stays the one it had: what was there before the run.
    if (undoneAt >= 0) compensations.push(...progress.undone.splice(undoneAt, 1));
    note(ctx, progress, `${stepId} put back: ${result.outcome.summary}`);
  }
}

/** Holds after a breach, twice as long as the hold before (up to maxHold): true if the alert fired meanwhile. */
async function hold(ctx: RunContext, spec: StagedRollback, progress: RollbackProgress, why: string): Promise<boolean> {
  progress.holds++;
  const holdMs = Math.min(spec.holdMs * 2 ** (progress.holds - 1), spec.maxHoldMs);
  progress.lastHoldMs = holdMs;
  progress.heldBecause = `stage ${progress.stage + 1} of ${progress.stages.length}: ${why}`;
  progress.holdUntil = new Date(Date.now() + holdMs).toISOString();
  note(ctx, progress, `held for ${seconds(holdMs)}: ${why}`);
  log.warn('staged rollback held', { stage: progress.stage + 1, why, holdMs });
  ctx.setState('holding');
  const fired = await waitUntil(ctx, ctx.firing, holdMs);
  progress.holdUntil = null;
  note(
    ctx,
    progress,
    fired
      ? 'the alert fired again: the changes stay until it resolves and the cooldown passes again'
      : 'the hold is over: the stage is tried again',
  );
  return fired;
}

/** Brings the run's changes back stage by stage, from where it stood; the final rollback undoes what is left. */
export async function rollBackInStages(ctx: RunContext, spec: StagedRollback): Promise<StagedEnd> {
  const { status } = ctx;
  const progress = (status.rollback ??= startProgress(ctx, spec));
  // The cost rate is sampled just before and just after each stage (and each put-back), so the savings ledger's
  // total follows the rate as the stages step it down: what the half-way replicas cost for their window counts.
  // The first sample is the rate with every change in force, which the report names. (sampleCost does nothing for
  // a playbook without savings.)
  let sampledNow = false;
  if (!progress.sampled) {
    progress.sampled = true;
    if (ctx.changesInForce()) sampledNow = (await sampleCost(ctx)) !== null;
    if (status.savings) status.savings.inForce = status.savings.latest;
  }
  while (progress.stage < progress.stages.length) {
    progress.heldBecause = null;
    ctx.setState('rolling-back');
    const from = { ...progress.back };
    if (!sampledNow && ctx.changesInForce()) await sampleCost(ctx);
    sampledNow = false;
    const moved = await undoStage(ctx, progress);
    if (moved === 'failed') return 'failed';
    if (moved.length > 0) await sampleCost(ctx);
    const breach = moved.length > 0 ? await watch(ctx, spec, progress) : null;
    if (breach === null) {
      if (moved.length > 0) note(ctx, progress, 'held through the window');
      progress.stage++;
      continue;
    }
    note(ctx, progress, `stopped: ${breach}`);
    await sampleCost(ctx);
    await putBack(ctx, progress, moved, from);
    await sampleCost(ctx);
    progress.attempt++;
    if (await hold(ctx, spec, progress, breach)) return 'fired';
  }
  return 'done';
}

/** The rollback in a line, for the memo. */
export function describeRollback(progress: RollbackProgress): string {
  const stage = `stage ${Math.min(progress.stage + 1, progress.stages.length)} of ${progress.stages.length}`;
  if (progress.heldBecause && progress.holdUntil)
    return `holding until ${progress.holdUntil} (${progress.heldBecause})`;
  if (progress.stage >= progress.stages.length)
    return `every stage done${progress.holds > 0 ? ` after ${progress.holds} holds` : ''}`;
  return `${stage}${progress.holds > 0 ? ` (held ${progress.holds} times)` : ''}`;
}
