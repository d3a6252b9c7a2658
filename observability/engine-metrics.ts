// The engine's own Prometheus metrics: what runs saved and where budgets stand. One registry per
// worker, served on /metrics (observability/metrics-server.ts), so FinOps dashboards and alerts read the
// engine's view beside the platform's.
import { Counter, Gauge, Registry } from 'prom-client';

/** Runs already counted: an activity retried after it counted must not count twice. */
const REMEMBERED_RUNS = 10_000;

export class EngineMetrics {
  readonly registry = new Registry();
  private readonly savedUsd = new Counter({
    name: 'finops_soar_saved_usd_total',
    help: 'Dollars runs saved by the time they rolled back (baseline cost rate less the sampled rate, integrated over the changes).',
    labelNames: ['playbook'],
    registers: [this.registry],
  });
  private readonly addedUsd = new Counter({
    name: 'finops_soar_added_cost_usd_total',
    help: 'Dollars runs added by the time they rolled back, e.g. by scaling out.',
    labelNames: ['playbook'],
    registers: [this.registry],
  });
  private readonly mitigatedHours = new Counter({
    name: 'finops_soar_changes_in_force_hours_total',
    help: "Hours runs' changes were in force, from the first change to the rollback.",
    labelNames: ['playbook'],
    registers: [this.registry],
  });
  private readonly budgetGauges = {
    budget: this.budgetGauge('finops_soar_budget_usd', 'The monthly budget, from the config.'),
    spent: this.budgetGauge('finops_soar_budget_spent_usd', 'Spend so far this calendar month (UTC).'),
    forecast: this.budgetGauge('finops_soar_budget_forecast_usd', 'The month-end spend forecast (expected).'),
    forecastLow: this.budgetGauge('finops_soar_budget_forecast_low_usd', "The low side of the forecast's interval."),
    forecastHigh: this.budgetGauge(
      'finops_soar_budget_forecast_high_usd',
      "The high side of the forecast's interval: what the budget announcements and the scale-out decision read.",
    ),
    consumed: this.budgetGauge(
      'finops_soar_budget_consumed_ratio',
      'Spend so far this month over the budget (1 = all of it).',
    ),
  };
  private readonly counted = new Set<string>();

  /**
   * Counts a run's savings once, however often it is reported (a run id is unique; its workflow id repeats for the next
   * alert on the target).
   */
  recordSavings({
    runId,
    playbook,
    savedUsd,
    hours,
  }: {
    runId: string;
    playbook: string;
    savedUsd: number;
    hours: number;
  }): void {
    if (this.counted.has(runId)) return;
    this.counted.add(runId);
    if (this.counted.size > REMEMBERED_RUNS) this.counted.delete(this.counted.values().next().value!);
    if (savedUsd >= 0) this.savedUsd.inc({ playbook }, savedUsd);
    else this.addedUsd.inc({ playbook }, -savedUsd);
    this.mitigatedHours.inc({ playbook }, Math.max(0, hours));
  }

  recordBudget(
    budget: string,
    {
      budgetUsd,
      spentUsd,
      forecastUsd,
      forecastLowUsd = forecastUsd,
      forecastHighUsd = forecastUsd,
    }: { budgetUsd: number; spentUsd: number; forecastUsd: number; forecastLowUsd?: number; forecastHighUsd?: number },
  ): void {
    this.budgetGauges.budget.set({ budget }, budgetUsd);
    this.budgetGauges.spent.set({ budget }, spentUsd);
    this.budgetGauges.forecast.set({ budget }, forecastUsd);
    this.budgetGauges.forecastLow.set({ budget }, forecastLowUsd);
    this.budgetGauges.forecastHigh.set({ budget }, forecastHighUsd);
    this.budgetGauges.consumed.set({ budget }, spentUsd / budgetUsd);
  }

  private budgetGauge(name: string, help: string) {
    return new Gauge({ name, help, labelNames: ['budget'], registers: [this.registry] });
  }
}
