// The reviews' activities: gather a weekly review's figures (weekly-gather.ts) and a lifecycle review's (S3), keep the
// reports under the data folder, post the digests. I/O only: the arithmetic is in weekly-figures.ts and
// lifecycle-figures.ts, the words in weekly-report.ts and lifecycle-report.ts.
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { heartbeat } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { BudgetSpec } from '../finops/budget-rules';
import type { GatewayAdapter } from '../gateway/adapter';
import type { Notifier } from '../notify/notifier';
import type { PrometheusQuery } from '../prometheus/prometheus-activities';
import type { BucketLifecycle } from '../storage/lifecycle-client';
import { LifecycleError } from '../storage/lifecycle-client';
import type { BucketObjects } from './bucket-objects';
import { bucketFigures, bucketTally, type BucketFigures } from './lifecycle-figures';
import { lifecycleMarkdown, lifecyclePost, type LifecycleFigures } from './lifecycle-report';
import type { CapaSummaryLike } from './review-capas';
import type { LifecycleReviewInput, ReviewFiles } from './review-ids';
import { cents, type WeeklyFigures } from './weekly-figures';
import { problemOf, weeklyFigures } from './weekly-gather';
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
