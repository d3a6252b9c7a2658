// FinOps checks: budget questions answered from Prometheus (spend) and Kubernetes (GPUs per replica).
import { ApplicationFailure } from '@temporalio/common';
import { monthWindow, RECENT_DAYS, scaleOutDecision, type BudgetReport } from './budget';
import { seasonalNaiveForecast, SEASON_WEEKS, type MonthSpend } from './forecast';
import { budgetPace, budgetSpend, type BudgetSpec } from './budget-rules';
import { parseDuration } from '../validation/duration';
import type { EngineMetrics } from '../observability/engine-metrics';
import type { KubernetesAdapter } from '../kubernetes/kubernetes-client';
import { parseParams, type CheckActivity } from '../activities/action-contract';
import { callKubernetes, deploymentOf } from '../kubernetes/kubernetes-activities';
import { instantSamples, instantValue, type PrometheusQuery } from '../prometheus/prometheus-activities';

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

/** The whole days the forecast looks back at: its weeks, and one more week for the trend. */
const HISTORY_DAYS = (SEASON_WEEKS + 1) * 7;

/**
 * The spend of each whole UTC day before `midnight`, the newest `count` of them, in one instant query:
 * one `increase(…[1d] @ midnight offset Nd)` per day, each labelled with its N. A day Prometheus has nothing for
 * is absent; the days before the first one with spend are left out, a gap after it counts as $0.
 */
export async function dailySpend(
  prometheus: PrometheusQuery,
  spend: string,
  midnight: Date,
  count: number,
): Promise<number[]> {
  if (count === 0) return [];
  // No `offset 0d`: Prometheus before 2.47 refuses a zero offset.
  const day = (n: number) =>
    `label_replace(sum(increase(${spend}[1d] @ ${midnight.getTime() / 1000}${n > 0 ? ` offset ${n}d` : ''})), "days_ago", "${n}", "", "")`;
  const query = Array.from({ length: count }, (_, n) => day(n)).join(' or ');
  const byDaysAgo = new Map<number, number>();
  for (const sample of await instantSamples(prometheus, query))
    byDaysAgo.set(Number(sample.labels.days_ago), sample.value);
  const oldest = Math.max(-1, ...byDaysAgo.keys());
  return Array.from({ length: oldest + 1 }, (_, k) => byDaysAgo.get(oldest - k) ?? 0);
}

/**
 * Spend so far this month under a budget and the month-end forecast with its
 * interval, from Prometheus: the month to date, and the whole days of the month and the four weeks
 * before it in one query (finops/forecast.ts).
 */
export async function monthSpend(
  prometheus: PrometheusQuery,
  name: string,
  budget: BudgetSpec,
  step: string,
  now: Date,
) {
  const window = monthWindow(now);
  const spend = (range: string) => `sum(increase(${budgetSpend(budget)}[${range}]))`;
  const spent = (range: string) => spendValue(prometheus, spend(range), { step, budget: name });
  const monthToDateUsd = await spent(`${window.elapsedSeconds}s`);
  const wholeDays = Math.floor(window.elapsedDays);
  const midnight = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
  const history = await dailySpend(prometheus, budgetSpend(budget), midnight, Math.max(wholeDays, HISTORY_DAYS));
  const days = history.slice(Math.max(0, history.length - wholeDays));
  const input: MonthSpend = {
    before: history.slice(0, history.length - days.length),
    days,
    today: {
      usd: Math.max(0, monthToDateUsd - days.reduce((a, b) => a + b, 0)),
      elapsed: window.elapsedDays - wholeDays,
    },
    daysInMonth: Math.round(window.elapsedDays + window.remainingDays),
  };
  return { window, monthToDateUsd, forecast: seasonalNaiveForecast(input), spent };
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
      const { monthToDateUsd, forecast } = await monthSpend(prometheus, name, budget, step, new Date());
      const scaleOutUsd = addReplicas * gpusPerReplica * settings.gpuHourlyUsd * expectedHours;
      const decision = scaleOutDecision({
        forecast,
        scaleOutUsd,
        budgetUsd: budget.monthlyUsd,
        headroom: settings.headroom,
      });
      return {
        allowed: decision.allowed,
        budgetUsd: budget.monthlyUsd,
        limitUsd: cents(decision.limitUsd),
        monthToDateUsd: cents(monthToDateUsd),
        forecastUsd: cents(forecast.forecastUsd),
        forecastLowUsd: cents(forecast.lowUsd),
        forecastHighUsd: cents(forecast.highUsd),
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
      const { window, monthToDateUsd, forecast, spent } = await monthSpend(prometheus, name, budget, step, now);
      const lastDayUsd =
        window.elapsedDays >= 1 ? await spent('1d') : monthToDateUsd / Math.max(window.elapsedDays, 1 / 24);
      // The week's pace is the report's alone: the scale-out check reads only the forecast.
      const recentUsd = window.elapsedDays >= RECENT_DAYS ? await spent(`${RECENT_DAYS}d`) : null;
      metrics.recordBudget(name, {
        budgetUsd: budget.monthlyUsd,
        spentUsd: monthToDateUsd,
        forecastUsd: forecast.forecastUsd,
        forecastLowUsd: forecast.lowUsd,
        forecastHighUsd: forecast.highUsd,
      });
      return {
        budget: name,
        month: now.toISOString().slice(0, 7),
        monthlyUsd: budget.monthlyUsd,
        spentUsd: cents(monthToDateUsd),
        forecastUsd: cents(forecast.forecastUsd),
        forecastLowUsd: cents(forecast.lowUsd),
        forecastHighUsd: cents(forecast.highUsd),
        dailyUsd: {
          lastDay: cents(lastDayUsd),
          lastWeek: recentUsd === null ? null : cents(recentUsd / RECENT_DAYS),
          monthToDate: cents(monthToDateUsd / Math.max(window.elapsedDays, 1 / 24)),
        },
      };
    },
  };
}
