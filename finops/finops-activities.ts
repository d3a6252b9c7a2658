// FinOps checks: budget questions answered from Prometheus (spend) and Kubernetes (GPUs per replica).
import { ApplicationFailure } from '@temporalio/common';
import { forecastMonthUsd, monthWindow, RECENT_DAYS, scaleOutDecision, type BudgetReport } from './budget';
import { budgetPace, budgetSpend, type BudgetSpec } from './budget-rules';
import { parseDuration } from '../validation/duration';
import type { EngineMetrics } from '../observability/engine-metrics';
import type { KubernetesAdapter } from '../kubernetes/kubernetes-client';
import { parseParams, type CheckActivity } from '../activities/action-contract';
import { callKubernetes, deploymentOf } from '../kubernetes/kubernetes-activities';
import { instantValue, type PrometheusQuery } from '../prometheus/prometheus-activities';

export interface FinopsSettings {
  budgets: Record<string, BudgetSpec>;
  /** What one GPU costs per hour, for scale-out estimates. */
  gpuHourlyUsd: number;
  /** The share of every budget kept free, 0 to 1. */
  headroom: number;
}

export interface FinopsActivities {
  'finops.scaleOutBudget': CheckActivity;
  'finops.burnRate': CheckActivity;
  'finops.gpuCostRate': CheckActivity;
  /** The configured budgets, read each round so a config change reaches a running watch. */
  'finops.budgetNames': () => Promise<string[]>;
  /** One budget's standing, also set as the engine's budget gauges. */
  'finops.budgetReport': (budget: string) => Promise<BudgetReport>;
}

const cents = (value: number) => Math.round(value * 100) / 100;

/**
 * The number a spend query gives. No series is no answer, not $0: a wrong selector must not make
 * every scale-out look free, or every route look idle.
 */
export async function spendValue(
  prometheus: PrometheusQuery,
  query: string,
  { step, budget }: { step: string; budget: string },
): Promise<number> {
  const value = await instantValue(prometheus, query, step);
  if (value === null) {
    throw ApplicationFailure.nonRetryable(
      `${step}: no spend matches ${query}; check finops.budgets.${budget}.selector and that Prometheus scrapes the gateway's inference_cost_usd_total`,
      'NoSpendData',
    );
  }
  return value;
}

/**
 * A budget's burn rate over the window, as the budget alerts measure it (its spend rate over the
 * pace that spends it in 30 days), or over the part of the window Prometheus has data for: rate()
 * divides by the whole window, so a Prometheus or a budget minutes old would read as burning
 * slowly. The data's age comes from a subquery in 1,800 steps of at least 100 ms.
 */
export async function measureBurnRate(
  prometheus: PrometheusQuery,
  { budgetName, budget, window, step }: { budgetName: string; budget: BudgetSpec; window: string; step: string },
): Promise<number> {
  const context = { step, budget: budgetName };
  const windowSeconds = (parseDuration(window) ?? 0) / 1000;
  const spend = budgetSpend(budget);
  const stepMs = Math.max(100, Math.round((windowSeconds * 1000) / 1800));
  const age = await spendValue(
    prometheus,
    `time() - min(min_over_time(timestamp(${spend})[${window}:${stepMs}ms]))`,
    context,
  );
  const range = age >= windowSeconds ? window : `${Math.max(1, Math.floor(age))}s`;
  return spendValue(prometheus, `sum(rate(${spend}[${range}])) / ${budgetPace(budget)}`, context);
}

/** Spend so far this month under a budget, the recent spend and the month-end forecast, from Prometheus. */
async function monthSpend(prometheus: PrometheusQuery, name: string, budget: BudgetSpec, step: string, now: Date) {
  const window = monthWindow(now);
  const spend = (range: string) => `sum(increase(${budgetSpend(budget)}[${range}]))`;
  const spent = (range: string) => spendValue(prometheus, spend(range), { step, budget: name });
  const monthToDateUsd = await spent(`${window.elapsedSeconds}s`);
  const recentUsd = window.elapsedDays >= RECENT_DAYS ? await spent(`${RECENT_DAYS}d`) : null;
  return {
    window,
    monthToDateUsd,
    recentUsd,
    forecastUsd: forecastMonthUsd({ monthToDateUsd, recentUsd }, window),
    spent,
  };
}

/** The budget a step names, or an error saying which budgets the config defines. */
export function budgetNamed(budgets: Record<string, BudgetSpec>, step: string, name: string): BudgetSpec {
  // Own keys only: a name templated from a label ("constructor", "__proto__") must not find Object's members,
  // whose missing selector would fail the step with a TypeError that Temporal retries.
  const budget = Object.hasOwn(budgets, name) ? budgets[name] : undefined;
  if (budget) return budget;
  const known = Object.keys(budgets);
  throw ApplicationFailure.nonRetryable(
    `${step}: no budget named ${name}; define finops.budgets.${name} in the config (defined: ${known.join(', ') || 'none'})`,
    'InvalidParams',
  );
}

export function createFinopsActivities({
  prometheus,
  kubernetes,
  settings,
  metrics,
}: {
  prometheus: PrometheusQuery;
  kubernetes: KubernetesAdapter;
  settings: FinopsSettings;
  metrics: EngineMetrics;
}): FinopsActivities {
  return {
    async 'finops.scaleOutBudget'({ target, params }) {
      const step = 'finops.scaleOutBudget';
      const { budget: name, addReplicas, expectedHours } = parseParams(step, params);
      const budget = budgetNamed(settings.budgets, step, name);
      const { gpusPerReplica } = await callKubernetes(() => kubernetes.readDeployment(deploymentOf(step, target)));
      const { monthToDateUsd, forecastUsd } = await monthSpend(prometheus, name, budget, step, new Date());
      const scaleOutUsd = addReplicas * gpusPerReplica * settings.gpuHourlyUsd * expectedHours;
      const decision = scaleOutDecision({
        forecastUsd,
        scaleOutUsd,
        budgetUsd: budget.monthlyUsd,
        headroom: settings.headroom,
      });
      return {
        allowed: decision.allowed,
        budgetUsd: budget.monthlyUsd,
        limitUsd: cents(decision.limitUsd),
        monthToDateUsd: cents(monthToDateUsd),
        forecastUsd: cents(forecastUsd),
        scaleOutUsd: cents(scaleOutUsd),
        reason: decision.reason,
      };
    },

    async 'finops.burnRate'({ params }) {
      const step = 'finops.burnRate';
      const { budget: budgetName, window } = parseParams(step, params);
      const budget = budgetNamed(settings.budgets, step, budgetName);
      const burnRate = await measureBurnRate(prometheus, { budgetName, budget, window, step });
      return { burnRate: Math.round(burnRate * 100) / 100 };
    },

    // spec.replicas rather than the ready pods: a GPU node is paid for once the scale-out asks for it, ready or not.
    async 'finops.gpuCostRate'({ target, params }) {
      const step = 'finops.gpuCostRate';
      parseParams(step, params ?? {});
      const { replicas, gpusPerReplica } = await callKubernetes(() =>
        kubernetes.readDeployment(deploymentOf(step, target)),
      );
      return {
        usdPerHour: cents(replicas * gpusPerReplica * settings.gpuHourlyUsd),
        replicas,
        gpusPerReplica,
        gpuHourlyUsd: settings.gpuHourlyUsd,
      };
    },

    'finops.budgetNames': () => Promise.resolve(Object.keys(settings.budgets).sort()),

    async 'finops.budgetReport'(name) {
      const step = 'finops.budgetReport';
      const budget = budgetNamed(settings.budgets, step, name);
      const now = new Date();
      const { window, monthToDateUsd, recentUsd, forecastUsd, spent } = await monthSpend(
        prometheus,
        name,
        budget,
        step,
        now,
      );
      const lastDayUsd =
        window.elapsedDays >= 1 ? await spent('1d') : monthToDateUsd / Math.max(window.elapsedDays, 1 / 24);
      metrics.recordBudget(name, { budgetUsd: budget.monthlyUsd, spentUsd: monthToDateUsd, forecastUsd });
      return {
        budget: name,
        month: now.toISOString().slice(0, 7),
        monthlyUsd: budget.monthlyUsd,
        spentUsd: cents(monthToDateUsd),
        forecastUsd: cents(forecastUsd),
        dailyUsd: {
          lastDay: cents(lastDayUsd),
          lastWeek: recentUsd === null ? null : cents(recentUsd / RECENT_DAYS),
          monthToDate: cents(monthToDateUsd / Math.max(window.elapsedDays, 1 / 24)),
        },
      };
    },
  };
}
