// Measuring what a run saves (playbooks with `savings`): the target's cost rate is sampled just
// before each change and on a schedule while changes are in force, into the ledger of
// finops/savings.ts; the rollback reports the total. Sampling never stops the mitigation: a failed
// sample is a note in the ledger.
import { isCancellation } from '@temporalio/workflow';
import { attributeAfterRates, describeSavings, recordCostSample } from '../../finops/savings';
import { failureMessage } from '../failures';
import { sample, tell, tellPeople } from './activity-proxies';
import type { RunContext } from './run-context';

/**
 * Samples the target's cost rate into the savings ledger, and schedules the next sample while
 * changes are in force. Each change's "after" rate is the first sample a whole interval after it.
 * Answers the rate, or null when there is none (noted in the ledger).
 */
export async function sampleCost(ctx: RunContext): Promise<number | null> {
  const { status, plan } = ctx;
  const ledger = status.savings;
  if (!ledger) return null;
  const everyMs = plan.savings?.everyMs ?? 0;
  ledger.nextAt = null;
  const measure = plan.savings?.measure;
  let value: unknown;
  let answered = false;
  try {
    value = measure
      ? (await sample[measure.check]({ target: plan.target, params: measure.params }))[measure.fact]
      : (await sample['prometheus.query']({ target: plan.target, params: { query: ledger.query } })).value;
    answered = true;
  } catch (error) {
    if (isCancellation(error)) throw error;
    ledger.note = `measuring the cost rate failed: ${failureMessage(error)}`;
  }
  if (typeof value === 'number') {
    const taken = { at: new Date().toISOString(), usdPerHour: value };
    status.savings = recordCostSample(ledger, taken, ctx.changesInForce());
    attributeAfterRates(status.applied, taken, everyMs);
  } else if (answered) {
    ledger.note = measure
      ? `${measure.check} gave no number for ${measure.fact}`
      : 'the cost rate query gave no series';
  }
  if (ctx.changesInForce() && status.state !== 'rolling-back') {
    status.savings!.nextAt = new Date(Date.now() + everyMs).toISOString();
  }
  ctx.summarize();
  return typeof value === 'number' ? value : null;
}

/** Tells the playbook's savings audience, and the engine's metrics, what the run saved. */
export async function reportSavings({ status, plan, firstExecutionRunId, run }: RunContext): Promise<void> {
  const ledger = status.savings;
  const described = ledger && describeSavings(ledger);
  if (!ledger?.baseline || !ledger.latest || !described) return;
  const hours = (Date.parse(ledger.latest.at) - Date.parse(ledger.baseline.at)) / 3_600_000;
  await tellPeople('record the savings', () =>
    tell['finops.recordSavings']({
      runId: firstExecutionRunId,
      playbook: plan.playbook.name,
      savedUsd: ledger.savedUsd,
      hours,
    }),
  );
  const reportTo = plan.savings?.reportTo ?? [];
  if (reportTo.length > 0) {
    const message = `${plan.playbook.name} on ${plan.target.key} rolled back after ${hours.toFixed(1)} h of changes: ${described}.`;
    await tellPeople('report the savings', () => tell['notify.send']({ to: reportTo, message, run }));
  }
}
