// Month-end spend forecasts and the scale-out budget decision. Pure, so the method is tested
// directly (property tests in test/unit/budget.test.ts) and the activity only gathers numbers.
//
// The forecast is finops/forecast.ts's (seasonal naive with a trend, chosen by `npm run
// bench:forecast`): an expected month-end spend and an interval around it. Every decision takes the
// cautious, high side of the interval: a scale-out must fit under the budget with it, and the
// budget announcements say how far over it would go.

import type { Forecast } from './forecast';

const DAY_SECONDS = 86_400;

export interface MonthWindow {
  /** Seconds since the month began (UTC). */
  elapsedSeconds: number;
  elapsedDays: number;
  remainingDays: number;
}

/** Where `now` falls in its UTC calendar month. */
export function monthWindow(now: Date): MonthWindow {
  const start = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1);
  const end = Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1);
  const elapsedSeconds = Math.max(1, Math.floor((now.getTime() - start) / 1000));
  return {
    elapsedSeconds,
    elapsedDays: elapsedSeconds / DAY_SECONDS,
    remainingDays: (end - now.getTime()) / 1000 / DAY_SECONDS,
  };
}

/** How many days of history stand for "recent" in a budget report's pace: a whole week once the month has one. */
export const RECENT_DAYS = 7;

export interface ScaleOutQuestion {
  /** The month-end forecast: its high side is what must fit. */
  forecast: Forecast;
  /** Extra replicas × GPUs each × $ per GPU-hour × expected hours. */
  scaleOutUsd: number;
  budgetUsd: number;
  /** The share of the budget kept free, 0 to 1. */
  headroom: number;
}

export interface ScaleOutDecision {
  allowed: boolean;
  /** The budget less its headroom: the forecast's high side plus the scale-out must stay within it. */
  limitUsd: number;
  reason: string;
}

const usd = (value: number) => `$${value.toLocaleString('en-US', { maximumFractionDigits: 0 })}`;

export function scaleOutDecision({ forecast, scaleOutUsd, budgetUsd, headroom }: ScaleOutQuestion): ScaleOutDecision {
  const limitUsd = budgetUsd * (1 - headroom);
  const total = forecast.highUsd + scaleOutUsd;
  const allowed = total <= limitUsd;
  const comparison = `forecast up to ${usd(forecast.highUsd)} (expected ${usd(forecast.forecastUsd)}) + scale-out ${usd(scaleOutUsd)} = ${usd(total)} ${allowed ? 'within' : 'over'} ${usd(limitUsd)} (budget ${usd(budgetUsd)} less ${Math.round(headroom * 100)}% headroom)`;
  return { allowed, limitUsd, reason: comparison };
}

/** The shares of a budget whose crossing is announced, once each per month. */
export const BUDGET_THRESHOLDS = [0.5, 0.75, 0.9, 1] as const;

/** The thresholds `consumed` (spend over budget) has reached that were not announced yet, lowest first. */
export const newlyCrossed = (consumed: number, announced: readonly number[]): number[] =>
  BUDGET_THRESHOLDS.filter((threshold) => consumed >= threshold && !announced.includes(threshold));

/** One budget's standing: spend so far, the pace of the last day, week and month, and the forecast. */
export interface BudgetReport {
  budget: string;
  /** The calendar month (UTC) it is for, e.g. 2026-11. */
  month: string;
  monthlyUsd: number;
  spentUsd: number;
  forecastUsd: number;
  /** The forecast's interval; absent from reports made before it had one (recorded histories). */
  forecastLowUsd?: number;
  forecastHighUsd?: number;
  /** Spend per day over the last day, the last 7 days (null before the month has them) and the month so far. */
  dailyUsd: { lastDay: number; lastWeek: number | null; monthToDate: number };
}

/** The announcement of crossing `threshold`, with what the numbers mean: against the budget, the forecast's high side. */
export function budgetMessage(report: BudgetReport, threshold: number): string {
  const high = report.forecastHighUsd ?? report.forecastUsd;
  const against =
    high > report.monthlyUsd
      ? `over by ${usd(high - report.monthlyUsd)}`
      : `within it by ${usd(report.monthlyUsd - high)}`;
  const forecast =
    report.forecastHighUsd === undefined
      ? `${usd(report.forecastUsd)}, ${against}`
      : `${usd(report.forecastUsd)}, up to ${usd(high)}: ${against}`;
  const week = report.dailyUsd.lastWeek === null ? '' : `, ${usd(report.dailyUsd.lastWeek)}/day over the last week`;
  return (
    `Budget ${report.budget} has reached ${Math.round(threshold * 100)}% for ${report.month}: ${usd(report.spentUsd)} of ${usd(report.monthlyUsd)} spent. ` +
    `Spending ${usd(report.dailyUsd.lastDay)}/day over the last day${week}, ${usd(report.dailyUsd.monthToDate)}/day this month. ` +
    `Month-end forecast ${forecast}.`
  );
}
