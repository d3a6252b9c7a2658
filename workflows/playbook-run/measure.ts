// Reading a number from a check, for the steps that measure (adapt, verify). A measurement that
// fails or gives no number is an answer too: the step notes it and carries on.
import { isCancellation } from '@temporalio/workflow';
import type { Measure } from '../../playbook/plan';
import { failureMessage } from '../failures';
import { apply } from './activity-proxies';
import type { RunContext } from './run-context';

/** The number a measure's check gives now, or why there is none (`answered`: the check ran but gave no number). */
export async function measureNow(
  { plan }: RunContext,
  measure: Measure,
): Promise<{ value: number } | { problem: string; answered: boolean }> {
  let value: unknown;
  try {
    value = (await apply[measure.check]({ target: plan.target, params: measure.params }))[measure.fact];
  } catch (error) {
    if (isCancellation(error)) throw error;
    return { problem: `measuring failed: ${failureMessage(error)}`, answered: false };
  }
  return typeof value === 'number'
    ? { value }
    : { problem: `${measure.check} gave no number for ${measure.fact}`, answered: true };
}
