// The review workflows the schedules start (reviews/review-schedules.ts): gather the figures, keep the report under
// the data folder, post the digest, return all three. Deterministic: the time a review reports as of is the
// schedule's, read from the search attribute Temporal sets on scheduled runs, so a retried or late review reports
// the same numbers, and one run by hand names its own.
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { log, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { KeptReport, ReviewActivities } from './review-activities';
import type { LifecycleReviewInput, WeeklyReviewInput } from './review-ids';
import type { LifecycleFigures } from './lifecycle-report';
import type { WeeklyFigures } from './weekly-figures';

/** Set by the Temporal server on every workflow a schedule starts: the time it was scheduled for. */
const SCHEDULED_START = defineSearchAttributeKey('TemporalScheduledStartTime', SearchAttributeType.DATETIME);
const MINUTE_MS = 60_000;

// A weekly review reads a month of Prometheus data in a dozen queries: minutes at most, and a few tries.
const gather = proxyActivities<ReviewActivities>({
  startToCloseTimeout: '10m',
  heartbeatTimeout: '2m',
  retry: { initialInterval: '10s', backoffCoefficient: 2, maximumAttempts: 5 },
});
// Listing a bucket of millions of objects takes a request per thousand: hours, not minutes. Its heartbeat after each
// page is what tells a stalled listing from a long one.
const list = proxyActivities<ReviewActivities>({
  startToCloseTimeout: '6h',
  heartbeatTimeout: '2m',
  retry: { initialInterval: '10s', backoffCoefficient: 2, maximumAttempts: 5 },
});
const keep = proxyActivities<ReviewActivities>({
  startToCloseTimeout: '1m',
  retry: { initialInterval: '2s', maximumAttempts: 5 },
});
// The report is kept before it is posted: a Slack outage loses the post, never the report.
const tell = proxyActivities<ReviewActivities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '5s', backoffCoefficient: 2, maximumAttempts: 5 },
});

/** The minute the review reports as of: its input's, else the schedule's, else the run's start. */
function asOfMinute(asOf: string | undefined): string {
  if (asOf) return asOf;
  const info = workflowInfo();
  const scheduled = info.typedSearchAttributes.get(SCHEDULED_START);
  const at = scheduled ? scheduled.getTime() : info.runStartTime.getTime();
  return new Date(Math.floor(at / MINUTE_MS) * MINUTE_MS).toISOString();
}

export interface WeeklyReviewResult {
  figures: WeeklyFigures;
  report: KeptReport;
  posted: boolean;
}

export interface LifecycleReviewResult {
  figures: LifecycleFigures;
  report: KeptReport;
  posted: boolean;
}

async function post(send: () => Promise<void>, what: string): Promise<boolean> {
  try {
    await send();
    return true;
  } catch (error) {
    log.warn(`could not post the ${what}; the report is kept`, { error: String(error) });
    return false;
  }
}

export async function weeklyReview(input: WeeklyReviewInput): Promise<WeeklyReviewResult> {
  const asOf = asOfMinute(input.asOf);
  const figures = await gather['reviews.weeklyFigures']({ budget: input.budget, asOf, top: input.top });
  const report = await keep['reviews.keepWeekly'](figures);
  const files = [report.markdownPath, ...(report.chartPath ? [report.chartPath] : [])];
  const posted = await post(
    () => tell['reviews.postWeekly']({ figures, notifyTo: input.notifyTo, files }),
    'weekly review',
  );
  return { figures, report, posted };
}

export async function lifecycleReview(input: LifecycleReviewInput): Promise<LifecycleReviewResult> {
  const asOf = asOfMinute(input.asOf);
  const figures = await list['reviews.lifecycleFigures']({ ...input, asOf });
  const report = await keep['reviews.keepLifecycle'](figures);
  const posted = await post(
    () => tell['reviews.postLifecycle']({ figures, notifyTo: input.notifyTo, files: [report.markdownPath] }),
    'lifecycle review',
  );
  return { figures, report, posted };
}
