// The month-end spend forecast: seasonal naive with a trend, made robust with medians. Pure, so it
// is tested directly (test/unit/budget.test.ts) and measured against the other candidates by
// `npm run bench:forecast` (bench/README.md, Forecasts).
//
// Why this method: LLM spend has a weekly curve (weekends are quieter), tenants whose usage grows,
// and spikes of a day or two (a runaway client, a context blow-up). The average of the last 7 days
// (the forecast this replaces) lags a trend and keeps a spike for a week; a least-squares line over
// the month's cumulative spend (Prometheus's predict_linear) lags a trend by half the month.
// Holt-Winters needs smoothing constants fitted per budget, and a spike moves its level and trend
// for days. Seasonal naive with a trend has no parameter to fit: each day to come is the same
// weekday of the last weeks, moved along the trend, and with medians a one- or two-day spike is
// outvoted by the other weeks:
//
// - trend b: the median of the week-over-week daily changes (h[i] − h[i − 7]) / 7 over the last
//   weeks: same weekday minus same weekday, so the weekly curve cancels out;
// - day t to come: the median over the last weeks' same weekday i of h[i] + b × (t − i);
// - the interval: each of those days predicted from the other weeks (leave one out) gives a
//   residual; σ is their root mean square (a spike widens it: the cautious side). A day's error
//   carries into the next (a level that moved stays moved), so the errors add up linearly, not as
//   √days: the interval is the forecast ± 2σ × days left, the low side never below the spend so far.
//   On the benchmark's simulated month it held the actual total on 20 of 21 days (bench/README.md).
//
// With less than a week of history the month's own average pace stands in, ± 25% of what is left.

/** A budget's spend per UTC day, the input of a forecast made during day `days.length + 1` of the month. */
export interface MonthSpend {
  /** Whole UTC days of the month so far, the 1st first. */
  days: number[];
  /** Whole UTC days before the month, oldest first (the last one is the month's eve); [] when none are known. */
  before: number[];
  /** The day in progress: what it has spent so far and the share of it elapsed (0 to 1). */
  today: { usd: number; elapsed: number };
  daysInMonth: number;
}

export interface Forecast {
  forecastUsd: number;
  lowUsd: number;
  highUsd: number;
}

/** How many weeks of history the seasonal method looks at: three, so a median outvotes one odd week. */
export const SEASON_WEEKS = 3;
const WEEK = 7;

const sum = (values: number[]) => values.reduce((total, value) => total + value, 0);

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** Spend so far this month and the days left in it, counting the rest of today. */
export function monthSoFar({ days, today, daysInMonth }: MonthSpend) {
  const spentUsd = sum(days) + today.usd;
  const elapsedDays = days.length + today.elapsed;
  return { spentUsd, elapsedDays, remainingDays: Math.max(0, daysInMonth - elapsedDays) };
}

/** An interval of ± width around the forecast, its low side never below the spend so far. */
export function withInterval(spentUsd: number, forecastUsd: number, width: number): Forecast {
  return { forecastUsd, lowUsd: Math.max(spentUsd, forecastUsd - width), highUsd: forecastUsd + width };
}

export function seasonalNaiveForecast(spend: MonthSpend): Forecast {
  const { spentUsd, remainingDays } = monthSoFar(spend);
  const history = [...spend.before, ...spend.days];
  const n = history.length;
  const weeks = Math.min(SEASON_WEEKS, Math.floor(n / WEEK));
  if (weeks === 0) {
    // Less than a week of whole days: the average day seen, this month's and any before it, for the rest. (This
    // month's alone forecast $0 on the 1st with a few days of history, found by the flat-series property.)
    const perDay = (sum(history) + spend.today.usd) / Math.max(n + spend.today.elapsed, 1 / 24);
    const rest = perDay * remainingDays;
    return withInterval(spentUsd, spentUsd + rest, rest / 4);
  }
  const window = Array.from({ length: weeks * WEEK }, (_, k) => n - weeks * WEEK + k);
  const changes = window.filter((i) => i >= WEEK).map((i) => (history[i]! - history[i - WEEK]!) / WEEK);
  const trend = changes.length > 0 ? median(changes) : 0;
  const sameWeekday = (t: number) => window.filter((i) => (t - i) % WEEK === 0);
  const project = (t: number, from: number[]) => Math.max(0, median(from.map((i) => history[i]! + trend * (t - i))));
  const predict = (t: number) => project(t, sameWeekday(t));

  // The rest of today, then each whole day left.
  const wholeDaysLeft = spend.daysInMonth - spend.days.length - 1;
  let rest = predict(n) * (1 - spend.today.elapsed);
  for (let t = n + 1; t <= n + wholeDaysLeft; t++) rest += predict(t);

  const residuals = window.flatMap((i) => {
    const others = sameWeekday(i).filter((j) => j !== i);
    return others.length > 0 ? [history[i]! - project(i, others)] : [];
  });
  const sigma = residuals.length > 0 ? Math.sqrt(sum(residuals.map((r) => r * r)) / residuals.length) : rest / 4;
  return withInterval(spentUsd, spentUsd + rest, residuals.length > 0 ? 2 * sigma * remainingDays : sigma);
}
