// Savings attribution: what a run's changes saved, from the target's cost rate as Prometheus sees
// it. Pure, so the workflow can keep the ledger and tests can check the arithmetic.
//
// The method: the cost rate measured just before the run's first change is the baseline. While
// changes are in force the run samples the rate every so often; the saving at a sample is the
// baseline less the rate, and the dollars saved are the area between the baseline and the sampled
// rates (trapezoids between samples), up to the sample taken just before the rollback. A rate that
// rose (a scale-out) shows as a negative saving. It is an estimate: it assumes the traffic would
// have stayed at the baseline without the run, which a declining incident makes generous and a
// growing one makes modest; the run shows the samples it used. The cost rate is a rate over a
// window, so each sample lags the traffic by about half that window: the total misses about half a
// window's worth of the saving (test/workflow/savings-ground-truth.test.ts measures it against the
// simulator's counterfactual).

export interface CostSample {
  at: string;
  usdPerHour: number;
}

export interface SavingsLedger {
  /** PromQL giving the target's cost in US dollars per hour, or the check and fact that give it. */
  query: string;
  /** The rate just before the run's first change; null until then. */
  baseline: CostSample | null;
  /** The newest sample (the last one the total counts up to). */
  latest: CostSample | null;
  /** Baseline less the newest rate, in $/hour. */
  savedUsdPerHour: number | null;
  /** Dollars saved since the first change, up to the newest sample. */
  savedUsd: number;
  /** Samples taken; a failed measurement is a note, not a sample. */
  samples: number;
  /** When the run samples next while changes are in force; null when it does not. */
  nextAt: string | null;
  /** Why the last measurement gave nothing, or null. */
  note: string | null;
  /**
   * A staged rollback's first sample, with every change still in force: the rate the report names, since the newest
   * sample is then the rate the last stage left. Absent otherwise (the newest sample is the one before the rollback).
   */
  inForce?: CostSample | null;
}

export const emptyLedger = (query: string): SavingsLedger => ({
  query,
  baseline: null,
  latest: null,
  savedUsdPerHour: null,
  savedUsd: 0,
  samples: 0,
  nextAt: null,
  note: null,
});

const HOUR_MS = 3_600_000;
const cents = (usd: number) => Math.round(usd * 100) / 100;

/** The ledger after one more sample: the first one sets the baseline. */
export function addSample(ledger: SavingsLedger, sample: CostSample): SavingsLedger {
  const baseline = ledger.baseline ?? sample;
  const savedPerHour = baseline.usdPerHour - sample.usdPerHour;
  const previous = ledger.latest;
  const hours = previous ? Math.max(0, Date.parse(sample.at) - Date.parse(previous.at)) / HOUR_MS : 0;
  const area = previous ? ((baseline.usdPerHour - previous.usdPerHour + savedPerHour) / 2) * hours : 0;
  return {
    ...ledger,
    baseline,
    latest: sample,
    savedUsdPerHour: cents(savedPerHour),
    savedUsd: cents(ledger.savedUsd + area),
    samples: ledger.samples + 1,
    note: null,
  };
}

const usd = (value: number) => {
  const digits = value !== 0 && Math.abs(value) < 10 ? 2 : 0;
  return `$${Math.abs(value).toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })}`;
};

/** The ledger in a sentence, for summaries, approvals and war-rooms; null before there is a baseline. */
export function describeSavings(ledger: SavingsLedger): string | null {
  const { baseline, latest, savedUsd, inForce } = ledger;
  if (!baseline || !latest || ledger.savedUsdPerHour === null) return null;
  const rate = inForce ?? latest;
  const savedUsdPerHour = cents(baseline.usdPerHour - rate.usdPerHour);
  const direction = savedUsdPerHour >= 0 ? 'saving' : 'costing';
  const sofar = inForce ? 'in all' : 'so far';
  const total = savedUsd >= 0 ? `${usd(savedUsd)} saved ${sofar}` : `${usd(savedUsd)} more spent ${sofar}`;
  const when = inForce ? ' with every change in force' : '';
  return `cost rate ${usd(rate.usdPerHour)}/h${when} against ${usd(baseline.usdPerHour)}/h before the first change: ${direction} ${usd(savedUsdPerHour)}/h, ${total}`;
}

/**
 * The ledger after a sample taken during a run. The first sample must come before the first change
 * (the rate with a change in force cannot be the baseline): without a baseline nothing is
 * attributed, and the ledger says why.
 */
export function recordCostSample(ledger: SavingsLedger, sample: CostSample, changesInForce: boolean): SavingsLedger {
  if (ledger.baseline || !changesInForce) return addSample(ledger, sample);
  return { ...ledger, note: 'no baseline: the cost rate before the first change could not be measured' };
}

/** A change as the ledger attributes it: its rate just before, and a sampling interval after. */
export interface AttributedChange {
  appliedAt: string;
  costAfterUsdPerHour?: number | null;
}

/** Gives each change still waiting for its "after" rate this sample, once a whole interval has passed since it. */
export function attributeAfterRates(changes: AttributedChange[], sample: CostSample, everyMs: number): void {
  for (const change of changes) {
    if (change.costAfterUsdPerHour === null && Date.parse(sample.at) - Date.parse(change.appliedAt) >= everyMs) {
      change.costAfterUsdPerHour = sample.usdPerHour;
    }
  }
}
