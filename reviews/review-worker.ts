// What the worker (workers/worker.ts) needs for the reviews: their activities' clients, built from the config, and
// the schedules ensured at start.
import type { Client } from '@temporalio/client';
import { openCapas } from '../capa/capa-query';
import type { Config } from '../config/config-schema';
import type { Notifier } from '../notify/notifier';
import type { Logger } from '../observability/logger';
import { PrometheusClient } from '../prometheus/prometheus-client';
import { S3BucketLifecycle } from '../storage/lifecycle-client';
import { S3BucketObjects } from './bucket-objects';
import type { ReviewDeps } from './review-activities';
import { ensureReviewSchedules } from './review-schedules';

export function reviewDepsFrom(
  config: Config,
  { client, gateway, notifier }: { client: Client; gateway: ReviewDeps['gateway']; notifier: Notifier },
): ReviewDeps {
  return {
    prometheus: new PrometheusClient({
      baseUrl: config.prometheus.url,
      token: config.prometheus.token,
      timeoutMs: config.prometheus.timeout,
    }),
    budgets: config.finops.budgets,
    series: { requests: config.alerts.series.requests, tokens: config.alerts.series.tokens },
    gateway,
    client,
    openCapas,
    storage: new S3BucketLifecycle(config.storage.s3),
    objects: new S3BucketObjects(config.storage.s3),
    dataDir: config.dataDir,
    notifier,
  };
}

/** Creates or updates the review schedules; a failure is logged, not fatal: the worker's runs matter more. */
export async function ensureReviewSchedulesAtStart(client: Client, config: Config, logger: Logger): Promise<void> {
  try {
    const { created, updated, unchanged, unknown } = await ensureReviewSchedules(client, config);
    logger.info({ created, updated, unchanged }, 'review schedules ensured');
    if (unknown.length > 0)
      logger.warn(
        { schedules: unknown },
        `review schedules the config no longer asks for are left in place; delete each with: temporal schedule delete --schedule-id ID`,
      );
  } catch (error) {
    logger.error(
      { error: String(error) },
      'could not ensure the review schedules; they are tried again at the next start',
    );
  }
}
