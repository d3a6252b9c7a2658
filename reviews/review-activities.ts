// The reviews' activities: gather a weekly review's figures (Prometheus, the gateway's quotas, Temporal's runs, the
// open CAPAs) and a lifecycle review's (S3), keep the reports under the data folder, post the digests. I/O only: the
// arithmetic is in weekly-figures.ts and lifecycle-figures.ts, the words in weekly-report.ts and lifecycle-report.ts.
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { heartbeat } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { RECENT_DAYS } from '../finops/budget';
import { budgetSpend, type BudgetSpec } from '../finops/budget-rules';
import { budgetNamed, dailySpend, monthSpend } from '../finops/finops-activities';
import type { GatewayAdapter } from '../gateway/adapter';
import type { Notifier } from '../notify/notifier';
import { instantSamples, type PrometheusQuery } from '../prometheus/prometheus-activities';
import type { BucketLifecycle } from '../storage/lifecycle-client';
import { LifecycleError } from '../storage/lifecycle-client';
import { SEARCH_ATTRIBUTES } from '../workflows/search-attributes';
import type { BucketObjects } from './bucket-objects';
import { bucketFigures, bucketTally, type BucketFigures } from './lifecycle-figures';
import { lifecycleMarkdown, lifecyclePost, type LifecycleFigures } from './lifecycle-report';
import type { CapaSummaryLike } from './review-capas';
import type { LifecycleReviewInput, ReviewFiles } from './review-ids';
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
import { weeklyChartSvg, weeklyMarkdown, weeklyPost } from './weekly-report';

export interface ReviewDeps {
  prometheus: PrometheusQuery;
  budgets: Record<string, BudgetSpec>;
  /** The request and token counters (config alerts.series), for unit costs and quota use. */
  series: { requests: string; tokens: string };
  gateway: Pick<GatewayAdapter, 'getTenantQuota'>;
  /** Temporal, for the week's runs and the open CAPAs. */
  client: Client;
  /** The open CAPAs as capa/capa-query.ts answers them; absent: the review says they are not available. */
  openCapas?: (client: Client, now: Date) => Promise<CapaSummaryLike[]>;
  storage: BucketLifecycle;
  objects: BucketObjects;
  /** config dataDir: reports go under <dataDir>/reviews. */
  dataDir: string;
  notifier: Notifier;
}

export interface KeptReport extends ReviewFiles {
  markdown: string;
}

export interface ReviewActivities {
  'reviews.weeklyFigures': (input: { budget: string; asOf: string; top: number }) => Promise<WeeklyFigures>;
  'reviews.keepWeekly': (figures: WeeklyFigures) => Promise<KeptReport>;
  'reviews.postWeekly': (input: { figures: WeeklyFigures; notifyTo: string[]; files: string[] }) => Promise<void>;
  'reviews.lifecycleFigures': (input: LifecycleReviewInput & { asOf: string }) => Promise<LifecycleFigures>;
  'reviews.keepLifecycle': (figures: LifecycleFigures) => Promise<KeptReport>;
  'reviews.postLifecycle': (input: { figures: LifecycleFigures; notifyTo: string[]; files: string[] }) => Promise<void>;
}

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

const problemOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

async function weeklyFigures(
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

/** Writes the file whole, or not at all: a reader never sees half a report. */
async function writeWhole(path: string, text: string): Promise<void> {
  const partial = `${path}.partial`;
  await writeFile(partial, text);
  await rename(partial, path);
}

async function lifecycleFigures(
  deps: ReviewDeps,
  { asOf, buckets, coldAfterDays, moveTo, pricesPerGbMonth }: LifecycleReviewInput & { asOf: string },
): Promise<LifecycleFigures> {
  const figures: BucketFigures[] = [];
  for (const bucket of buckets) {
    const settings = { asOf: new Date(asOf), coldAfterDays, moveTo, pricesPerGbMonth };
    try {
      const configuration = await deps.storage.getLifecycle(bucket);
      const tally = bucketTally(settings);
      for await (const object of deps.objects.list(bucket, () => heartbeat(bucket))) tally.add(object);
      figures.push(tally.figures(bucket, configuration?.rules ?? null));
    } catch (error) {
      // A bucket that is gone or not readable is a finding; S3 unavailable is retried.
      if (error instanceof LifecycleError && error.retryable)
        throw ApplicationFailure.retryable(error.message, 'S3Unavailable');
      figures.push({ ...bucketFigures(bucket, null, [], settings), problem: problemOf(error) });
    }
  }
  return {
    asOf,
    buckets: figures,
    savedUsdPerMonth: cents(figures.reduce((sum, b) => sum + b.cold.savedUsdPerMonth, 0)),
  };
}

export function createReviewActivities(deps: ReviewDeps): ReviewActivities {
  const folder = (...parts: string[]) => join(resolve(deps.dataDir), 'reviews', ...parts);
  return {
    'reviews.weeklyFigures': (input) => weeklyFigures(deps, input),

    async 'reviews.keepWeekly'(figures) {
      const dir = folder('weekly', figures.budget);
      await mkdir(dir, { recursive: true });
      const date = figures.asOf.slice(0, 10);
      const chartPath = join(dir, `${date}.svg`);
      const markdownPath = join(dir, `${date}.md`);
      const markdown = weeklyMarkdown(figures, `${date}.svg`);
      await writeWhole(chartPath, weeklyChartSvg(figures));
      await writeWhole(markdownPath, markdown);
      return { markdownPath, chartPath, markdown };
    },

    'reviews.postWeekly': ({ figures, notifyTo, files }) =>
      deps.notifier.postReport(weeklyPost(figures, notifyTo, files)),

    'reviews.lifecycleFigures': (input) => lifecycleFigures(deps, input),

    async 'reviews.keepLifecycle'(figures) {
      const dir = folder('quarterly');
      await mkdir(dir, { recursive: true });
      const markdownPath = join(dir, `${figures.asOf.slice(0, 10)}.md`);
      const markdown = lifecycleMarkdown(figures);
      await writeWhole(markdownPath, markdown);
      return { markdownPath, chartPath: null, markdown };
    },

    'reviews.postLifecycle': ({ figures, notifyTo, files }) =>
      deps.notifier.postReport(lifecyclePost(figures, notifyTo, files)),
  };
}

/** The activities where the worker was given no review deps: each fails saying what to configure. */
export function unconfiguredReviewActivities(): ReviewActivities {
  const fail = () =>
    Promise.reject(
      ApplicationFailure.nonRetryable(
        'reviews: this worker was started without the reviews (createActivities without `reviews`); run the reviews on a worker started by workers/worker.ts',
        'ReviewsNotConfigured',
      ),
    );
  return {
    'reviews.weeklyFigures': fail,
    'reviews.keepWeekly': fail,
    'reviews.postWeekly': fail,
    'reviews.lifecycleFigures': fail,
    'reviews.keepLifecycle': fail,
    'reviews.postLifecycle': fail,
  };
}
