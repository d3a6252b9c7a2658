// A verify step: measure until the metric is where the step expects it, or give up after `within`.
// What it found decides the rest: moved → the later steps are not needed; not moved at the last
// step → escalation need not wait (steps.ts, escalation.ts).
import { describeExpectation, hasMoved } from '../../playbook/measures';
import type { PlannedStep } from '../../playbook/plan';
import { measureNow } from './measure';
import { seconds, type RunContext } from './run-context';
import { waitUntil } from './waiting';

/**
 * Measures until the value is where the step expects it (true) or `withinMs` passes (false);
 * adapt steps keep adjusting meanwhile. A resolved alert needs no more checking.
 */
export async function runVerify(
  ctx: RunContext,
  stepId: string,
  step: Extract<PlannedStep, { kind: 'verify' }>,
): Promise<boolean> {
  const deadline = Date.now() + step.withinMs;
  const expected = describeExpectation(step.expect);
  const verified = (moved: boolean, value: number | null, reason: string) => {
    ctx.status.verifications.push({ stepId, moved, value, at: new Date().toISOString(), reason });
    ctx.summarize();
    return moved;
  };
  for (;;) {
    const measured = await measureNow(ctx, step.measure);
    if ('value' in measured && hasMoved(measured.value, step.expect)) {
      return verified(true, measured.value, `${step.measure.fact} is ${measured.value}, ${expected}`);
    }
    if (!ctx.firing()) return verified(true, null, 'the alert resolved');
    if (Date.now() >= deadline) {
      const last = 'value' in measured ? `${step.measure.fact} is still ${measured.value}` : measured.problem;
      return verified(
        false,
        'value' in measured ? measured.value : null,
        `not ${expected} within ${seconds(step.withinMs)}: ${last}`,
      );
    }
    await waitUntil(ctx, () => !ctx.firing(), Math.min(step.everyMs, deadline - Date.now()));
  }
}
