// `finops-soar reviews` (the review schedules: when they run next, how the last run went) and `finops-soar review
// weekly|quarterly --now` (one review now, waiting for its report). The CLI talks to Temporal directly, with the
// config's temporal settings, not through the ingress: schedules are Temporal objects the worker already manages
// that way, listing them needs no operator identity, and the ingress stays an endpoint for alerts and runs
// (docs/reviews.md, "Why the CLI talks to Temporal").
import { Client, Connection } from '@temporalio/client';
import type { Config } from '../config/config-schema';
import { temporalConnectionOptions } from '../temporal/connection';
import { listReviewSchedules, runReviewNow } from './review-schedules';

export const REVIEW_OPTIONS = {
  budget: { type: 'string' },
  now: { type: 'boolean', default: false },
} as const;

export const REVIEW_USAGE = `  finops-soar reviews                               the review schedules: when each runs next, its last run and report
  finops-soar review weekly [--budget B] --now      run the weekly forecast review now (every budget, or B), print the report's path
  finops-soar review quarterly --now                run the quarterly lifecycle review now, print the report's path
                                                    reviews and review talk to Temporal directly (temporal.address, or the embedded server)`;

async function withClient<T>(config: Config, use: (client: Client) => Promise<T>): Promise<T> {
  const connection = await Connection.connect(temporalConnectionOptions(config.temporal));
  try {
    return await use(new Client({ connection, namespace: config.temporal.namespace }));
  } finally {
    await connection.close();
  }
}

export async function reviewCommand(
  command: 'reviews' | 'review',
  args: string[],
  values: { budget?: string | undefined; now?: boolean | undefined },
  config: Config,
  usage: string,
): Promise<number> {
  if (command === 'reviews') {
    const listing = await withClient(config, (client) => listReviewSchedules(client, config));
    if (listing.length === 0) {
      console.log('no review schedules: define finops.budgets (weekly) or storage.review.buckets (quarterly)');
      return 0;
    }
    for (const schedule of listing) {
      console.log(`${schedule.scheduleId}  ${schedule.state}${schedule.when ? `  ${schedule.when}` : ''}`);
      if (schedule.nextRuns.length > 0) console.log(`  next    ${schedule.nextRuns.join(', ')}`);
      const last = schedule.last;
      console.log(
        last
          ? `  last    ${last.scheduledAt} ${last.status}${last.report ? `: ${last.report}` : ''} (${last.workflowId})`
          : '  last    never run',
      );
    }
    if (listing.some((schedule) => schedule.state === 'missing'))
      console.log('a missing schedule is created when a worker starts with this config');
    return 0;
  }
  const [kind] = args;
  if ((kind !== 'weekly' && kind !== 'quarterly') || !values.now) {
    console.error(
      `review takes weekly or quarterly and --now (its schedule runs it otherwise; see finops-soar reviews)\n${usage}`,
    );
    return 2;
  }
  if (kind === 'quarterly' && values.budget !== undefined) {
    console.error('--budget is for the weekly review: the quarterly one reviews storage.review.buckets');
    return 2;
  }
  const runs = await withClient(config, (client) =>
    runReviewNow(client, config, { kind, ...(values.budget !== undefined && { budget: values.budget }) }),
  );
  for (const { workflowId, results } of runs)
    for (const { report, posted } of results) {
      console.log(`${workflowId}: wrote ${report.markdownPath}${report.chartPath ? ` and ${report.chartPath}` : ''}`);
      if (!posted) console.log('  (the digest could not be posted: see the worker log)');
    }
  return 0;
}
