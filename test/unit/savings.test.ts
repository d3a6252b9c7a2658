// The savings ledger (finops/savings.ts): the baseline, the trapezoid total, how it reads, and how a
// run attributes its samples to its changes; and the engine metrics that count each run once.
import { addSample, attributeAfterRates, describeSavings, emptyLedger, recordCostSample } from '../../finops/savings';
import { EngineMetrics } from '../../observability/engine-metrics';

const at = (minutes: number) => new Date(Date.UTC(2026, 10, 28, 10, minutes)).toISOString();

describe('the savings ledger', () => {
  test('the first sample is the baseline and saves nothing', () => {
    const ledger = addSample(emptyLedger('q'), { at: at(0), usdPerHour: 120 });
    expect(ledger).toMatchObject({
      baseline: { usdPerHour: 120 },
      latest: { usdPerHour: 120 },
      savedUsdPerHour: 0,
      savedUsd: 0,
      samples: 1,
    });
  });

  test('dollars saved are the area between the baseline and the sampled rates (trapezoids)', () => {
    let ledger = addSample(emptyLedger('q'), { at: at(0), usdPerHour: 120 });
    // 0 → 30 min: the rate falls from 120 to 60, saving on average $30/h for half an hour: $15.
    ledger = addSample(ledger, { at: at(30), usdPerHour: 60 });
    expect(ledger.savedUsd).toBe(15);
    // 30 → 90 min at 60: $60/h for an hour: $60 more.
    ledger = addSample(ledger, { at: at(90), usdPerHour: 60 });
    expect(ledger).toMatchObject({ savedUsd: 75, savedUsdPerHour: 60, samples: 3 });
  });

  test('a rate above the baseline (a scale-out) is a negative saving, and says so', () => {
    let ledger = addSample(emptyLedger('q'), { at: at(0), usdPerHour: 100 });
    ledger = addSample(ledger, { at: at(60), usdPerHour: 140 });
    expect(ledger).toMatchObject({ savedUsdPerHour: -40, savedUsd: -20 });
    expect(describeSavings(ledger)).toBe(
      'cost rate $140/h against $100/h before the first change: costing $40/h, $20 more spent so far',
    );
  });

  test('in words: small amounts keep their cents, large ones are rounded to dollars', () => {
    let ledger = addSample(emptyLedger('q'), { at: at(0), usdPerHour: 12_500 });
    ledger = addSample(ledger, { at: at(6), usdPerHour: 12_490.5 });
    expect(describeSavings(ledger)).toBe(
      'cost rate $12,491/h against $12,500/h before the first change: saving $9.50/h, $0.48 saved so far',
    );
    expect(describeSavings(emptyLedger('q'))).toBeNull();
  });

  test('a scale-out rolled back in stages: the report names the rate with every change in force, and the total counts the stages', () => {
    // $200/h before, $280/h for an hour with 4 more replicas, half way back ($240/h) for 30 minutes, then home.
    let ledger = addSample(emptyLedger('finops.gpuCostRate usdPerHour'), { at: at(0), usdPerHour: 200 });
    ledger = addSample(ledger, { at: at(1), usdPerHour: 280 });
    ledger = addSample(ledger, { at: at(60), usdPerHour: 280 });
    ledger = { ...ledger, inForce: ledger.latest };
    ledger = addSample(ledger, { at: at(61), usdPerHour: 240 });
    ledger = addSample(ledger, { at: at(90), usdPerHour: 240 });
    ledger = addSample(ledger, { at: at(91), usdPerHour: 200 });
    // Minute ramps (trapezoids) between the samples: $0.67 + $78.67 + $1 + $19.33 + $0.33.
    expect(ledger.savedUsd).toBe(-100);
    expect(describeSavings(ledger)).toBe(
      'cost rate $280/h with every change in force against $200/h before the first change: costing $80/h, $100 more spent in all',
    );
  });
});

describe('the engine metrics of savings', () => {
  const saved = async (metrics: EngineMetrics, name: string) =>
    (await metrics.registry.getSingleMetric(name)!.get()).values.find((v) => v.labels.playbook === 'cost-s2')?.value;

  test('a run counts once however often it is reported; the next run on the same target counts again; a cost increase counts apart', async () => {
    const metrics = new EngineMetrics();
    metrics.recordSavings({ runId: 'run-1', playbook: 'cost-s2', savedUsd: 40, hours: 2 });
    metrics.recordSavings({ runId: 'run-1', playbook: 'cost-s2', savedUsd: 40, hours: 2 });
    metrics.recordSavings({ runId: 'run-2', playbook: 'cost-s2', savedUsd: 10, hours: 1 });
    metrics.recordSavings({ runId: 'run-3', playbook: 'cost-s2', savedUsd: -5, hours: 1 });
    expect(await saved(metrics, 'finops_soar_saved_usd_total')).toBe(50);
    expect(await saved(metrics, 'finops_soar_added_cost_usd_total')).toBe(5);
    expect(await saved(metrics, 'finops_soar_changes_in_force_hours_total')).toBe(4);
  });
});

describe('cost attribution during a run', () => {
  test('the first sample before any change is the baseline', () => {
    const ledger = recordCostSample(emptyLedger('q'), { at: at(0), usdPerHour: 120 }, false);
    expect(ledger).toMatchObject({ baseline: { usdPerHour: 120 }, samples: 1, note: null });
  });

  test('a first sample taken with a change in force is no baseline: nothing is attributed, and the ledger says why', () => {
    const ledger = recordCostSample(emptyLedger('q'), { at: at(5), usdPerHour: 60 }, true);
    expect(ledger).toMatchObject({ baseline: null, samples: 0, savedUsd: 0 });
    expect(ledger.note).toBe('no baseline: the cost rate before the first change could not be measured');
  });

  test('once there is a baseline, samples with changes in force count', () => {
    let ledger = recordCostSample(emptyLedger('q'), { at: at(0), usdPerHour: 120 }, false);
    ledger = recordCostSample(ledger, { at: at(30), usdPerHour: 60 }, true);
    expect(ledger).toMatchObject({ savedUsd: 15, savedUsdPerHour: 60, samples: 2 });
  });

  test("each change's after-rate is the first sample a whole interval after it, and is kept", () => {
    const changes = [
      { appliedAt: at(0), costAfterUsdPerHour: null as number | null },
      { appliedAt: at(10), costAfterUsdPerHour: null as number | null },
    ];
    const everyMs = 15 * 60_000;
    attributeAfterRates(changes, { at: at(14), usdPerHour: 90 }, everyMs);
    expect(changes.map((change) => change.costAfterUsdPerHour)).toEqual([null, null]);
    attributeAfterRates(changes, { at: at(15), usdPerHour: 80 }, everyMs);
    expect(changes.map((change) => change.costAfterUsdPerHour)).toEqual([80, null]);
    attributeAfterRates(changes, { at: at(30), usdPerHour: 70 }, everyMs);
    expect(changes.map((change) => change.costAfterUsdPerHour)).toEqual([80, 70]);
  });

  test('changes of a run without savings (no cost fields) are left alone', () => {
    const change = { appliedAt: at(0) };
    attributeAfterRates([change], { at: at(60), usdPerHour: 70 }, 60_000);
    expect(change).toEqual({ appliedAt: at(0) });
  });
});
