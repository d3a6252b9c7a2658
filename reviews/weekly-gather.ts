// A weekly review's figures, gathered as of the review's minute: the budget's month and forecast (finops/, the same
// code as the budget watch), the week's spend by tenant and route against the week before, unit costs, each tenant's
// quota use over the last 7 days, the week's runs (their own savings ledgers) and the open CAPAs. What cannot be
// gathered is a problem line of the review; the arithmetic is in weekly-figures.ts.
import { heartbeat } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { RECENT_DAYS } from '../finops/budget';
import { budgetSpend } from '../finops/budget-rules';
import { budgetNamed, dailySpend, monthSpend } from '../finops/finops-activities';
import { instantSamples, type PrometheusQuery } from '../prometheus/prometheus-activities';
import { SEARCH_ATTRIBUTES } from '../workflows/search-attributes';
import type { CapaSummaryLike } from './review-capas';
import type { ReviewDeps } from './review-activities';
import {
  cents,
  movers,
  quotaUse,
  topBy,
  unitCosts,
  type QuotaField,
  type QuotaUse,
  type RunsOfTheWeek,
  type SpendRow,
  type WeeklyFigures,
} from './weekly-figures';

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
/** More runs than this in a week are summed from the first ones only, and the review says so. */
const MAX_RUNS = 2_000;

/** `metric{a="b"}` with the budget's matchers added inside its braces. */
export function withSelector(series: string, selector: string): string {
  if (selector.trim() === '') return series;
  const open = series.indexOf('{');
  return open < 0 ? `${series}{${selector}}` : `${series.slice(0, -1)}${series.at(-2) === '{' ? '' : ','}${selector}}`;
}

/** Prometheus, every query evaluated at `at`: the review's numbers are the same however late it runs. */
const pinned = (prometheus: PrometheusQuery, at: Date): PrometheusQuery => ({
  query: (promql: string) => prometheus.query(promql, at),
});

const keyOf = (labels: Record<string, string>, names: string[]) =>
  names.map((name) => labels[name] ?? '').join('\u0000');

async function byLabels(prometheus: PrometheusQuery, query: string, names: string[]): Promise<Map<string, number>> {
  const result = new Map<string, number>();
  for (const { labels, value } of await instantSamples(prometheus, query))
    if (!Number.isNaN(value)) result.set(keyOf(labels, names), value);
  return result;
}

/** Per tenant, the value of `perDay(midnight)` on each of the 7 whole UTC days before `midnight`, oldest first. */
async function lastSevenDays(
  prometheus: PrometheusQuery,
  perDay: (offset: string) => string,
): Promise<Map<string, number[]>> {
  const query = Array.from(
    { length: 7 },
    (_, n) => `label_replace(${perDay(n > 0 ? ` offset ${n}d` : '')}, "days_ago", "${n}", "", "")`,
  ).join(' or ');
  const byTenant = new Map<string, number[]>();
  for (const { labels, value } of await instantSamples(prometheus, query)) {
    const days = byTenant.get(labels.tenant ?? '') ?? Array<number>(7).fill(0);
    days[6 - Number(labels.days_ago)] = value;
    byTenant.set(labels.tenant ?? '', days);
  }
  return byTenant;
}

export async function weekOfRuns(
  client: Client,
  weekStart: string,
  asOf: string,
  problems: string[],
): Promise<RunsOfTheWeek> {
  const ended = `WorkflowType = 'playbookRun' AND ExecutionStatus = 'Completed' AND CloseTime >= '${weekStart}' AND CloseTime < '${asOf}'`;
  const running = `WorkflowType = 'playbookRun' AND ExecutionStatus = 'Running' AND StartTime >= '${weekStart}' AND StartTime < '${asOf}'`;
  const totals = new Map<string, { runs: number; savedUsd: number; addedUsd: number }>();
  let count = 0;
  for await (const execution of client.workflow.list({ query: ended })) {
    if (count >= MAX_RUNS) {
      problems.push(`more than ${MAX_RUNS} runs ended this week: the runs' savings count the first ${MAX_RUNS}`);
      break;
    }
    count += 1;
    const playbook = execution.typedSearchAttributes.get(SEARCH_ATTRIBUTES.playbook) ?? execution.workflowId;
    // The run's own summary: its savings ledger is what the Temporal UI shows the auditor for that run.
    const summary = (await client.workflow.getHandle(execution.workflowId, execution.runId).result()) as {
      savings?: { savedUsd: number } | null;
    } | null;
    const saved = summary?.savings?.savedUsd ?? 0;
    const total = totals.get(playbook) ?? { runs: 0, savedUsd: 0, addedUsd: 0 };
    total.runs += 1;
    if (saved >= 0) total.savedUsd += saved;
    else total.addedUsd -= saved;
    totals.set(playbook, total);
    if (count % 50 === 0) heartbeat();
  }
  const byPlaybook = [...totals.entries()]
    .map(([playbook, t]) => ({ playbook, runs: t.runs, savedUsd: cents(t.savedUsd), addedUsd: cents(t.addedUsd) }))
    .sort((a, b) => b.savedUsd - a.savedUsd || a.playbook.localeCompare(b.playbook));
  return {
    ended: count,
    running: (await client.workflow.count(running)).count,
    savedUsd: cents(byPlaybook.reduce((sum, p) => sum + p.savedUsd, 0)),
    addedUsd: cents(byPlaybook.reduce((sum, p) => sum + p.addedUsd, 0)),
    byPlaybook,
  };
}

export const problemOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

export async function weeklyFigures(
  deps: ReviewDeps,
  { budget: name, asOf: asOfText, top }: { budget: string; asOf: string; top: number },
): Promise<WeeklyFigures> {
  const step = 'reviews.weeklyFigures';
  const budget = budgetNamed(deps.budgets, step, name);
  const asOf = new Date(asOfText);
  const at = pinned(deps.prometheus, asOf);
  const problems: string[] = [];
  // In a month's first hour there is next to nothing to forecast from (and at its first second no window at all): the
  // budget part then closes the month just ended, as of its last minute. A review on Mondays at 00:00 UTC meets it.
  const thisMonth = Date.UTC(asOf.getUTCFullYear(), asOf.getUTCMonth(), 1);
  const monthAsOf = asOf.getTime() - thisMonth < HOUR_MS ? new Date(thisMonth - 60_000) : asOf;
  const atMonth = pinned(deps.prometheus, monthAsOf);
  // The month and its forecast exactly as the budget report and the scale-out check compute them (finops/).
  const { window, monthToDateUsd, forecast, spent } = await monthSpend(atMonth, name, budget, step, monthAsOf);
  const lastDayUsd =
    window.elapsedDays >= 1 ? await spent('1d') : monthToDateUsd / Math.max(window.elapsedDays, 1 / 24);
  const lastWeekUsd = window.elapsedDays >= RECENT_DAYS ? await spent(`${RECENT_DAYS}d`) : null;

  const spend = budgetSpend(budget);
  const midnightOf = (time: Date) => new Date(Date.UTC(time.getUTCFullYear(), time.getUTCMonth(), time.getUTCDate()));
  const wholeDays = Math.floor(window.elapsedDays);
  const days = await dailySpend(atMonth, spend, midnightOf(monthAsOf), wholeDays);
  const firstDay = wholeDays - days.length;
  const monthStart = Date.UTC(monthAsOf.getUTCFullYear(), monthAsOf.getUTCMonth(), 1);
  const daily = days.map((usd, k) => ({
    day: new Date(monthStart + (firstDay + k) * DAY_MS).toISOString().slice(0, 10),
    usd: cents(usd),
  }));

  const pairs = ['tenant', 'route'];
  const week = (series: string, by: string[], offset = '') =>
    byLabels(at, `sum by (${by.join(', ')}) (increase(${series}[7d]${offset}))`, by);
  const requests = withSelector(deps.series.requests, budget.selector);
  const tokens = withSelector(deps.series.tokens, budget.selector);
  const [thisWeek, lastWeek, served, tokenCount, costByModel, tokensByModel] = await Promise.all([
    week(spend, pairs),
    week(spend, pairs, ' offset 7d'),
    week(requests, pairs),
    week(tokens, pairs),
    week(spend, [...pairs, 'model']),
    week(tokens, [...pairs, 'model']),
  ]);
  const split = (key: string) => key.split('\u0000');
  const rows: SpendRow[] = [...new Set([...thisWeek.keys(), ...lastWeek.keys()])].map((key) => {
    const [tenant = '', route = ''] = split(key);
    return { tenant, route, usd: thisWeek.get(key) ?? 0, previousUsd: lastWeek.get(key) ?? 0 };
  });
  const modelUnitCosts = [...costByModel.keys()].sort().map((key) => {
    const [tenant = '', route = '', model = ''] = split(key);
    const used = tokensByModel.get(key) ?? 0;
    return {
      tenant,
      route,
      model,
      usdPer1kTokens: used > 0 ? Math.round(((1000 * costByModel.get(key)!) / used) * 1e6) / 1e6 : null,
    };
  });

  const quotas: QuotaUse[] = [];
  const tenants = [...new Set(rows.filter((row) => row.usd > 0).map((row) => row.tenant))].filter(Boolean).sort();
  if (tenants.length > 0) {
    try {
      const m = midnightOf(asOf).getTime() / 1000;
      const [costPerDay, tokensPerDay, peakRps] = await Promise.all([
        lastSevenDays(at, (offset) => `sum by (tenant) (increase(${spend}[1d] @ ${m}${offset}))`),
        lastSevenDays(at, (offset) => `sum by (tenant) (increase(${tokens}[1d] @ ${m}${offset}))`),
        lastSevenDays(at, (offset) => `max_over_time(sum by (tenant) (rate(${requests}[5m]))[1d:1m] @ ${m}${offset})`),
      ]);
      const use: Record<QuotaField, Map<string, number[]>> = {
        costPerDayUsd: costPerDay,
        tokensPerDay,
        requestsPerSecond: peakRps,
      };
      for (const tenant of tenants) {
        let quota;
        try {
          ({ quota } = await deps.gateway.getTenantQuota(tenant));
        } catch (error) {
          // One tenant the gateway does not know (a LiteLLM team deleted since) costs its own line, not the others'.
          problems.push(`quota of ${tenant}: ${problemOf(error)}`);
          continue;
        }
        for (const field of ['costPerDayUsd', 'tokensPerDay', 'requestsPerSecond'] as const) {
          const limit = quota[field];
          if (limit === null) continue;
          const daily7 = (use[field].get(tenant) ?? Array<number>(7).fill(0)).map((v) => Math.round(v * 1e4) / 1e4);
          quotas.push(quotaUse(tenant, field, limit, daily7));
        }
      }
    } catch (error) {
      problems.push(`quotas: ${problemOf(error)}`);
    }
  }

  const weekStart = new Date(asOf.getTime() - 7 * DAY_MS).toISOString();
  let runs: RunsOfTheWeek | null = null;
  try {
    runs = await weekOfRuns(deps.client, weekStart, asOf.toISOString(), problems);
  } catch (error) {
    problems.push(`runs: ${problemOf(error)}`);
  }
  let capas: CapaSummaryLike[] | null = null;
  if (deps.openCapas) {
    try {
      capas = await deps.openCapas(deps.client, asOf);
    } catch (error) {
      problems.push(`CAPAs: ${problemOf(error)}`);
    }
  } else problems.push('CAPAs: this worker has no CAPA query');

  return {
    budget: name,
    asOf: asOf.toISOString(),
    weekStart,
    month: monthAsOf.toISOString().slice(0, 7),
    monthlyUsd: budget.monthlyUsd,
    spentUsd: cents(monthToDateUsd),
    forecast: {
      expectedUsd: cents(forecast.forecastUsd),
      lowUsd: cents(forecast.lowUsd),
      highUsd: cents(forecast.highUsd),
    },
    burn: {
      lastDayUsd: cents(lastDayUsd),
      lastWeekPerDayUsd: lastWeekUsd === null ? null : cents(lastWeekUsd / RECENT_DAYS),
      monthToDatePerDayUsd: cents(monthToDateUsd / Math.max(window.elapsedDays, 1 / 24)),
    },
    daily,
    daysInMonth: Math.round(window.elapsedDays + window.remainingDays),
    topTenants: topBy(rows, 'tenant', top),
    topRoutes: topBy(rows, 'route', top),
    movers: movers(rows, top),
    unitCosts: unitCosts(thisWeek, served, tokenCount)
      .map(({ key, ...unit }) => {
        const [tenant = '', route = ''] = split(key);
        return { tenant, route, ...unit };
      })
      .slice(0, 50),
    modelUnitCosts: modelUnitCosts.slice(0, 50),
    quotas,
    runs,
    capas,
    problems,
  };
}
