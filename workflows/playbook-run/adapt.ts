// Adapt steps: while the alert fires, measure on the step's schedule and move to the level the
// value calls for (levels in playbook/measures.ts); below every threshold the values from before
// the step come back. The waits between rounds live in waiting.ts, which calls `adjust` when due.
import { CancellationScope, isCancellation, log } from '@temporalio/workflow';
import { levelFor } from '../../playbook/measures';
import { failureMessage } from '../failures';
import { apply } from './activity-proxies';
import { applyChange, recordChange } from './changes';
import type { Adapting } from './definitions';
import { measureNow } from './measure';
import type { RunContext } from './run-context';

/**
 * One round of an adapt step: measure, and move to the level the value calls for. A failed
 * measurement or a refusal keeps the level in force (noted in the status); a guardrail refusal
 * stops the step, since asking again cannot change the answer.
 */
export async function adjust(ctx: RunContext, adapting: Adapting): Promise<void> {
  const { status, compensations } = ctx;
  const { stepId, step } = adapting;
  adapting.nextAt = new Date(Date.now() + step.everyMs).toISOString();
  const measured = await measureNow(ctx, step.measure);
  if ('problem' in measured) {
    if (measured.answered) adapting.measuredAt = new Date().toISOString();
    adapting.note = `${measured.problem}${measured.answered ? '; the level stays' : ''}`;
    return;
  }
  const { value } = measured;
  adapting.measuredAt = new Date().toISOString();
  adapting.value = value;
  adapting.note = null;
  const level = levelFor(step, value);
  if (level === adapting.level) return;
  const keyId = `${stepId}#${adapting.changes + 1}`;
  try {
    if (level === null) {
      // Below every threshold: the values from before the step come back. The undo leaves the
      // stack only once it has worked; if it fails, the level stays and the rollback still has it.
      const compensation = compensations.find((candidate) => candidate.stepId === stepId);
      if (compensation) {
        await CancellationScope.nonCancellable(() =>
          apply[compensation.action]({
            ...compensation.request,
            idempotencyKey: ctx.actionRequest(keyId, null, 'undo').idempotencyKey,
          }),
        );
        compensations.splice(compensations.indexOf(compensation), 1);
        for (const change of status.applied) {
          if (change.stepId === stepId && change.undoneAt === null) change.undoneAt = new Date().toISOString();
        }
      }
    } else {
      const result = await applyChange(ctx, keyId, step.action, step.levels[level]!.params, step.objects);
      if ('refused' in result) {
        adapting.note = `level above ${step.levels[level]!.above} refused: ${result.refused}`;
        if (result.by === 'guardrails') {
          status.adapting = status.adapting.filter((other) => other !== adapting);
          ctx.skip(stepId, adapting.note);
        }
        return;
      }
      const compensate = !compensations.some((compensation) => compensation.stepId === stepId);
      recordChange(ctx, stepId, keyId, step.action, result, compensate);
    }
  } catch (error) {
    if (isCancellation(error)) throw error;
    adapting.note = `adjusting failed: ${failureMessage(error)}`;
    return;
  }
  adapting.level = level;
  adapting.changes++;
  log.info('adapted', { step: stepId, value, level: level === null ? 'none' : `above ${step.levels[level]!.above}` });
  ctx.summarize();
}
