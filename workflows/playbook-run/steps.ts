// The step dispatcher: runs a playbook's planned steps in order, each only if its `when` holds,
// and hands each kind to its module. A rejected approval ends the steps; a failed check, notify or
// war-room is skipped with its reason (telling people or reading a fact must not stop the
// mitigation); any other failure ends the run (changes.ts rolls back first).
import { isCancellation, patched } from '@temporalio/workflow';
import { unmetCondition } from '../../playbook/conditions';
import type { PlannedStep } from '../../playbook/plan';
import type { Severity } from '../../playbook/playbook-schema';
import { failureMessage } from '../failures';
import { adjust } from './adapt';
import { apply } from './activity-proxies';
import { Rejected, runApproval } from './approval';
import { runAction } from './changes';
import type { RunContext } from './run-context';
import { runVerify } from './verify';
import { waitAdjusting } from './waiting';
import { keepWarRoomPosted } from './war-room';

/** What a step tells the loop: go on, or the later steps are not needed (a verify step saw the metric move). */
type StepEnd = 'next' | 'done';

/**
 * Runs `steps` in order; a rejected approval ends them (the reason is in the status). Steps of an
 * escalated-to playbook are named `<playbook>/<step id>` in the status, the approvals and the
 * idempotency keys, since S2 and S1 playbooks often share step ids.
 */
export async function runSteps(
  ctx: RunContext,
  steps: readonly PlannedStep[],
  severity: Severity,
  escalatedTo?: string,
): Promise<void> {
  const { status, alert } = ctx;
  const idOf = (step: PlannedStep) => (escalatedTo ? `${escalatedTo}/${step.id}` : step.id);
  const skipLater = (step: PlannedStep, reason: string) => {
    for (const later of steps.slice(steps.indexOf(step) + 1)) ctx.skip(idOf(later), reason);
  };
  for (const step of steps) {
    const stepId = idOf(step);
    status.currentStep = stepId;
    // Only plans made since gateway kinds carry `skip`: older runs replay as before.
    const unmet = step.skip ?? unmetCondition(step.when, { labels: alert.labels, severity, facts: status.facts });
    if (unmet) {
      ctx.skip(stepId, unmet);
      continue;
    }
    try {
      if ((await runStep(ctx, stepId, step, severity, step === steps.at(-1))) === 'done') {
        skipLater(step, `not needed: ${stepId} verified ${status.verifications.at(-1)!.reason}`);
        status.currentStep = null;
        return;
      }
    } catch (error) {
      if (error instanceof Rejected) {
        ctx.skip(stepId, error.message);
        skipLater(step, `not run: ${error.message}`);
        return;
      }
      if (!isCancellation(error) && (step.kind === 'check' || step.kind === 'notify' || step.kind === 'warRoom')) {
        ctx.skip(stepId, `failed: ${failureMessage(error)}`);
        continue;
      }
      throw error;
    }
  }
  status.currentStep = null;
}

/** Runs one step whose `when` holds. `last`: no later step in this playbook. */
async function runStep(
  ctx: RunContext,
  stepId: string,
  step: PlannedStep,
  severity: Severity,
  last: boolean,
): Promise<StepEnd> {
  const { status, plan, run } = ctx;
  switch (step.kind) {
    case 'action':
      await runAction(ctx, stepId, step);
      break;
    case 'check':
      status.facts[step.id] = await apply[step.check]({ target: plan.target, params: step.params, severity });
      break;
    case 'notify':
      await apply['notify.send']({ to: step.to, message: step.message, run });
      break;
    case 'warRoom': {
      const { location, statusMessage } = await apply['warRoom.open']({ name: step.name, invite: step.invite, run });
      status.facts[step.id] = { location };
      if (statusMessage && patched('war-room-status')) {
        status.warRoom = { message: statusMessage };
        keepWarRoomPosted(ctx, statusMessage);
      }
      break;
    }
    case 'approval':
      await runApproval(ctx, stepId, step);
      break;
    case 'waitUntilResolved':
      ctx.setState('mitigated');
      await waitAdjusting(ctx, () => !ctx.firing());
      ctx.setState('applying');
      break;
    case 'adapt': {
      const adapting = {
        stepId,
        step,
        level: null,
        value: null,
        measuredAt: null,
        changes: 0,
        note: null,
        nextAt: new Date().toISOString(),
      };
      status.adapting.push(adapting);
      await adjust(ctx, adapting);
      break;
    }
    case 'verify': {
      if (await runVerify(ctx, stepId, step)) return 'done';
      // Nothing left to try at this tier: the next one need not wait.
      if (last) ctx.escalateNow = `${stepId}: ${status.verifications.at(-1)!.reason}`;
      break;
    }
  }
  return 'next';
}
