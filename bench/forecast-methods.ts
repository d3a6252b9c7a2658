// The forecast candidates `npm run bench:forecast` compares, and the series it compares them on. The
// shipped method lives in finops/forecast.ts; the two that lost stay here, for the comparison only:
// (a) the forecast the engine made before (the last 7 days' average for each day left) and (c)
// Prometheus's predict_linear over the month's cumulative spend, computed exactly as Prometheus 2.42
// does (promql/functions.go, funcPredictLinear and linearRegression; checked against a real
// Prometheus by test/integration/forecast-predict-linear.test.ts).
import { monthSoFar, withInterval, type Forecast, type MonthSpend } from '../finops/forecast';
import { DEFAULT_CATALOG, type Catalog } from '../simulator/platform/catalog';
import { PlatformModel } from '../simulator/platform/model';
import { mulberry32 } from '../simulator/platform/random';
import { PolicyStore } from '../simulator/policy-store';

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

/** (a) Spend so far + the last 7 whole days' average (before the 8th, the month's own) × the days left. */
export function recentAverageForecast(spend: MonthSpend): Forecast {
  const { spentUsd, elapsedDays, remainingDays } = monthSoFar(spend);
  const daily =
    spend.days.length >= 7
      ? spend.days.slice(-7).reduce((a, b) => a + b, 0) / 7
      : spentUsd / Math.max(elapsedDays, 1 / 24);
  const forecastUsd = spentUsd + daily * remainingDays;
  return withInterval(spentUsd, forecastUsd, 0);
}

/** A sample as Prometheus keeps it: milliseconds since the epoch and a float. */
export interface Sample {
  t: number;
  v: number;
}

// Neumaier's compensated sum, as promql's kahanSumInc.
function kahanSumInc(inc: number, sum: number, c: number): [number, number] {
  const t = sum + inc;
  if (Math.abs(sum) >= Math.abs(inc)) c += sum - t + inc;
  else c += inc - t + sum;
  return [t, c];
}

/** promql's linearRegression: least squares of the samples, x in seconds from interceptTime (ms). */
export function linearRegression(
  samples: readonly Sample[],
  interceptTime: number,
): { slope: number; intercept: number } {
  let n = 0;
  let [sumX, cX, sumY, cY, sumXY, cXY, sumX2, cX2] = [0, 0, 0, 0, 0, 0, 0, 0];
  const initY = samples[0]!.v;
  let constY = true;
  samples.forEach((sample, i) => {
    if (constY && i > 0 && sample.v !== initY) constY = false;
    n += 1;
    const x = (sample.t - interceptTime) / 1e3;
    [sumX, cX] = kahanSumInc(x, sumX, cX);
    [sumY, cY] = kahanSumInc(sample.v, sumY, cY);
    [sumXY, cXY] = kahanSumInc(x * sample.v, sumXY, cXY);
    [sumX2, cX2] = kahanSumInc(x * x, sumX2, cX2);
  });
  if (constY) return Number.isFinite(initY) ? { slope: 0, intercept: initY } : { slope: NaN, intercept: NaN };
  sumX += cX;
  sumY += cY;
  sumXY += cXY;
  sumX2 += cX2;
  const covXY = sumXY - (sumX * sumY) / n;
  const varX = sumX2 - (sumX * sumX) / n;
  const slope = covXY / varX;
  return { slope, intercept: sumY / n - (slope * sumX) / n };
}

/** predict_linear(v[range], seconds) evaluated at evalTime (ms): the samples are those of the range. */
export function predictLinear(samples: readonly Sample[], evalTime: number, seconds: number): number {
  const { slope, intercept } = linearRegression(samples, evalTime);
  return slope * seconds + intercept;
}

/**
 * (c) predict_linear over the month so far, on the month's cumulative spend sampled every hour,
 * evaluated at the start of day `day` for the seconds left in the month.
 */
export function predictLinearForecast(month: HourlySeries, day: number): Forecast {
  const evalTime = month.monthStartMs + (day - 1) * DAY_MS;
  const samples = cumulativeSamples(month, evalTime);
  const spent = samples.at(-1)!.v;
  const forecastUsd = predictLinear(samples, evalTime, ((month.daysInMonth - day + 1) * DAY_MS) / 1e3);
  return withInterval(spent, forecastUsd, 0);
}

/** A series of spend per hour: `beforeDays` whole days before the month, then the month. */
export interface HourlySeries {
  name: string;
  monthStartMs: number;
  beforeDays: number;
  daysInMonth: number;
  hourlyUsd: number[];
}

/** The month's spend so far as a counter would show it, one sample at the end of each hour up to `untilMs`. */
export function cumulativeSamples(series: HourlySeries, untilMs: number): Sample[] {
  const samples: Sample[] = [];
  let total = 0;
  const first = series.beforeDays * 24;
  for (let h = first; h < series.hourlyUsd.length; h++) {
    const t = series.monthStartMs + (h - first + 1) * HOUR_MS;
    if (t > untilMs) break;
    total += series.hourlyUsd[h]!;
    samples.push({ t, v: total });
  }
  return samples;
}

/** Spend per whole UTC day, the first day of the series first. */
export function dailyUsd(series: HourlySeries): number[] {
  return Array.from({ length: series.hourlyUsd.length / 24 }, (_, d) =>
    series.hourlyUsd.slice(d * 24, d * 24 + 24).reduce((a, b) => a + b, 0),
  );
}

/** The input of a forecast made at the start of day `day` of the month. */
export function monthSpendOn(series: HourlySeries, day: number): MonthSpend {
  const days = dailyUsd(series);
  return {
    before: days.slice(0, series.beforeDays),
    days: days.slice(series.beforeDays, series.beforeDays + day - 1),
    today: { usd: 0, elapsed: 0 },
    daysInMonth: series.daysInMonth,
  };
}

/** What the month spent in the end. */
export const monthTotalUsd = (series: HourlySeries) =>
  dailyUsd(series)
    .slice(series.beforeDays)
    .reduce((a, b) => a + b, 0);

/** November 2026: 30 days, starting on a Sunday. */
export const MONTH_START_MS = Date.UTC(2026, 10, 1);
export const DAYS_IN_MONTH = 30;
/** Four weeks of history before the month, as Prometheus would hold with a retention of a month or more. */
export const BEFORE_DAYS = 28;
/** The simulated traffic is a hundredth of the catalog's (the per-request model stays fast); spend is scaled back. */
const TRAFFIC_SCALE = 0.01;

/**
 * The simulated platform's month: the default catalog's tenants, routes, prices and daily curve, with
 * weekends at 60% of a weekday, tenant globex growing by 3% of its rate a day, and a spend spike
 * (acme's traffic × 3) for 36 hours from the 14th at 09:00. Run by the load model itself, an hour a
 * step, on a synthetic clock, with the seed policies (tiers, caching) but no rate limits or quotas.
 */
export function simulatedMonth(seed = 1): HourlySeries {
  const startMs = MONTH_START_MS - BEFORE_DAYS * DAY_MS;
  const catalog: Catalog = {
    ...DEFAULT_CATALOG,
    weekly: { weekendFactor: 0.6 },
    traffic: DEFAULT_CATALOG.traffic.map((t) => ({
      ...t,
      requestsPerSecond: t.requestsPerSecond * TRAFFIC_SCALE,
      ...(t.tenant === 'globex' ? { growthPerDay: 0.03 } : {}),
    })),
  };
  const store = new PolicyStore();
  const replicas = new Map(catalog.deployments.map((d) => [d.name, d.replicas]));
  const model = new PlatformModel({
    seed,
    startMs,
    catalog,
    stepSeconds: 3600,
    controlPlane: {
      // The seed policies without rate limits or quotas: an hour-long step stamps its requests at one
      // instant, which a one-second token bucket would mostly refuse, and the bench measures spend, not throttling.
      effectivePolicy: (route, tenant) => ({ ...store.effectivePolicy(route, tenant), rateLimitRps: null }),
      tenantQuota: () => null,
      regionWeights: (route) => store.regionWeights(route),
      replicas: (name) => replicas.get(name) ?? 0,
    },
  });
  model.injectIncident(
    { kind: 'spend_spike', tenant: 'acme', magnitude: 3, durationSeconds: 36 * 3600 },
    MONTH_START_MS + 13 * DAY_MS + 9 * HOUR_MS,
  );
  const hours = (BEFORE_DAYS + DAYS_IN_MONTH) * 24;
  const hourlyUsd: number[] = [];
  let previous = 0;
  for (let h = 1; h <= hours; h++) {
    model.advance(startMs + h * HOUR_MS);
    const total = model.groundTruth().byTenantRoute.reduce((a, t) => a + t.costUsd, 0);
    hourlyUsd.push((total - previous) / TRAFFIC_SCALE);
    previous = total;
  }
  return {
    name: 'simulated',
    monthStartMs: MONTH_START_MS,
    beforeDays: BEFORE_DAYS,
    daysInMonth: DAYS_IN_MONTH,
    hourlyUsd,
  };
}

/** Hand-made: $1,000 an hour ± 20% noise, flat, then 40% more from the 12th on (a new workload). */
export function stepSeries(seed = 2): HourlySeries {
  const random = mulberry32(seed);
  const stepAt = (BEFORE_DAYS + 11) * 24;
  const hourlyUsd = Array.from(
    { length: (BEFORE_DAYS + DAYS_IN_MONTH) * 24 },
    (_, h) => 1_000 * (h >= stepAt ? 1.4 : 1) * (1 + 0.2 * (2 * random() - 1)),
  );
  return {
    name: 'flat + step',
    monthStartMs: MONTH_START_MS,
    beforeDays: BEFORE_DAYS,
    daysInMonth: DAYS_IN_MONTH,
    hourlyUsd,
  };
}

/** Hand-made: steady growth, $800 an hour rising by $10 an hour each day, ± 10% noise, no weekly curve. */
export function growthSeries(seed = 3): HourlySeries {
  const random = mulberry32(seed);
  const hourlyUsd = Array.from(
    { length: (BEFORE_DAYS + DAYS_IN_MONTH) * 24 },
    (_, h) => (800 + 10 * Math.floor(h / 24)) * (1 + 0.1 * (2 * random() - 1)),
  );
  return {
    name: 'linear growth',
    monthStartMs: MONTH_START_MS,
    beforeDays: BEFORE_DAYS,
    daysInMonth: DAYS_IN_MONTH,
    hourlyUsd,
  };
}
