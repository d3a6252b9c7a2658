// The weekly forecast review's numbers, and the pure arithmetic that turns Prometheus's answers into them: the week's
// top tenants and routes, what changed most week over week, unit costs over the week, and quota suggestions. Pure, so
// tests check the arithmetic directly and the activity (reviews/review-activities.ts) only gathers.
import type { CapaSummaryLike } from './review-capas';

export interface SpendRow {
  tenant: string;
  route: string;
  usd: number;
  previousUsd: number;
}

export interface UnitCostRow {
  tenant: string;
  route: string;
  usdPer1kRequests: number | null;
  tokensPerRequest: number | null;
}

export interface ModelUnitCostRow {
  tenant: string;
  route: string;
  model: string;
  usdPer1kTokens: number | null;
}

export type QuotaField = 'tokensPerDay' | 'requestsPerSecond' | 'costPerDayUsd';

export interface QuotaUse {
  tenant: string;
  field: QuotaField;
  limit: number;
  /** The use on each of the last 7 whole UTC days, oldest first (requestsPerSecond: the day's peak). */
  daily: number[];
  /** The highest day's use over the limit. */
  peakShare: number;
  suggestion: QuotaSuggestion | null;
}

export interface QuotaSuggestion {
  kind: 'raise' | 'lower';
  to: number;
  why: string;
}

export interface RunsOfTheWeek {
  /** Runs that ended in the week. */
  ended: number;
  /** Runs started in the week and still running at the review. */
  running: number;
  savedUsd: number;
  addedUsd: number;
  byPlaybook: Array<{ playbook: string; runs: number; savedUsd: number; addedUsd: number }>;
}

export interface WeeklyFigures {
  budget: string;
  /** The time the review reports as of, and the start of its week (7 days before). */
  asOf: string;
  weekStart: string;
  month: string;
  monthlyUsd: number;
  spentUsd: number;
  forecast: { expectedUsd: number; lowUsd: number; highUsd: number };
  /** Spend per day over the last 24 h, the last 7 days (null before the month has 7) and the month so far. */
  burn: { lastDayUsd: number; lastWeekPerDayUsd: number | null; monthToDatePerDayUsd: number };
  /** The month's whole UTC days before the review, the 1st first. */
  daily: Array<{ day: string; usd: number }>;
  daysInMonth: number;
  topTenants: Array<{ tenant: string; usd: number; previousUsd: number }>;
  topRoutes: Array<{ route: string; usd: number; previousUsd: number }>;
  /** The tenant-and-route pairs whose week changed most, in dollars, largest change first. */
  movers: SpendRow[];
  unitCosts: UnitCostRow[];
  modelUnitCosts: ModelUnitCostRow[];
  quotas: QuotaUse[];
  runs: RunsOfTheWeek | null;
  capas: CapaSummaryLike[] | null;
  /** What could not be gathered (a gateway without quotas, Temporal unreachable), in words. */
  problems: string[];
}

export const cents = (usd: number) => Math.round(usd * 100) / 100;
const round = (value: number, digits: number) => Math.round(value * 10 ** digits) / 10 ** digits;

/** Sums a pair table by one label, largest this week first, the top `top`. */
export function topBy<K extends 'tenant' | 'route'>(
  rows: SpendRow[],
  key: K,
  top: number,
): Array<Record<K, string> & { usd: number; previousUsd: number }> {
  const totals = new Map<string, { usd: number; previousUsd: number }>();
  for (const row of rows) {
    const total = totals.get(row[key]) ?? { usd: 0, previousUsd: 0 };
    total.usd += row.usd;
    total.previousUsd += row.previousUsd;
    totals.set(row[key], total);
  }
  return [...totals.entries()]
    .map(([name, { usd, previousUsd }]) => ({ name, usd: cents(usd), previousUsd: cents(previousUsd) }))
    .sort((a, b) => b.usd - a.usd || a.name.localeCompare(b.name))
    .slice(0, top)
    .map(
      ({ name, usd, previousUsd }) =>
        ({ [key]: name, usd, previousUsd }) as Record<K, string> & {
          usd: number;
          previousUsd: number;
        },
    );
}

/** The pairs whose spend changed most from last week to this one, in dollars either way; unchanged pairs left out. */
export function movers(rows: SpendRow[], top: number): SpendRow[] {
  return rows
    .map((row) => ({ ...row, usd: cents(row.usd), previousUsd: cents(row.previousUsd) }))
    .filter((row) => row.usd !== row.previousUsd)
    .sort(
      (a, b) =>
        Math.abs(b.usd - b.previousUsd) - Math.abs(a.usd - a.previousUsd) ||
        `${a.tenant}/${a.route}`.localeCompare(`${b.tenant}/${b.route}`),
    )
    .slice(0, top);
}

/**
 * A quota is worth changing when it never binds or always does:
 * - used on every one of the 7 days at 90 % or more, it is hit every day (requests refused, or about to be): raise it
 *   so the week's peak uses 70 % of it;
 * - never above 25 % on any day, it protects against nothing the tenant does: lower it to twice the week's peak (the
 *   margin the simulator's seed quotas keep over a normal day), so a runaway client is stopped sooner.
 * Suggestions are rounded up to two significant figures, a number people would type.
 */
export const HITS_EVERY_DAY_SHARE = 0.9;
export const NEVER_APPROACHES_SHARE = 0.25;
const RAISE_TO_SHARE = 0.7;
const LOWER_TO_PEAK_TIMES = 2;

export function twoSignificant(value: number): number {
  if (!(value > 0) || !Number.isFinite(value)) return 0;
  const step = 10 ** (Math.floor(Math.log10(value)) - 1);
  // Too small to scale (a denormal): nothing people would type anyway.
  if (!(step > 0) || !Number.isFinite(value / step)) return value;
  // toPrecision(12) drops the float noise of the division (72.00000000001 is 72), toPrecision(2) that of the product.
  return Number((Math.ceil(Number((value / step).toPrecision(12))) * step).toPrecision(2));
}

export function quotaSuggestion(limit: number, daily: number[]): QuotaSuggestion | null {
  const peak = Math.max(...daily);
  // Unused all week: nothing to size it from, and a quota of 0 would refuse the tenant everything.
  if (daily.length < 7 || limit <= 0 || !(peak > 0)) return null;
  if (daily.every((use) => use >= HITS_EVERY_DAY_SHARE * limit))
    return {
      kind: 'raise',
      to: twoSignificant(peak / RAISE_TO_SHARE),
      why: `at ${Math.round(HITS_EVERY_DAY_SHARE * 100)}% or more of it on each of the 7 days`,
    };
  if (peak < NEVER_APPROACHES_SHARE * limit)
    return {
      kind: 'lower',
      to: twoSignificant(peak * LOWER_TO_PEAK_TIMES),
      why: `never above ${Math.round(NEVER_APPROACHES_SHARE * 100)}% of it in 7 days (peak ${Math.round((peak / limit) * 100)}%)`,
    };
  return null;
}

export function quotaUse(tenant: string, field: QuotaField, limit: number, daily: number[]): QuotaUse {
  const peak = daily.length > 0 ? Math.max(...daily) : 0;
  return { tenant, field, limit, daily, peakShare: round(peak / limit, 4), suggestion: quotaSuggestion(limit, daily) };
}

/** Dollars per 1k requests and tokens per request from the week's totals (null where there was no traffic). */
export function unitCosts(
  cost: Map<string, number>,
  requests: Map<string, number>,
  tokens: Map<string, number>,
): Array<{ key: string; usdPer1kRequests: number | null; tokensPerRequest: number | null }> {
  return [...cost.keys()].sort().map((key) => {
    const served = requests.get(key) ?? 0;
    return {
      key,
      usdPer1kRequests: served > 0 ? round((1000 * cost.get(key)!) / served, 4) : null,
      tokensPerRequest: served > 0 && tokens.has(key) ? round(tokens.get(key)! / served, 2) : null,
    };
  });
}
