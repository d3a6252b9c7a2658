// Checks that read Prometheus, for `when` conditions on live metric values.
import { ApplicationFailure } from '@temporalio/common';
import { PrometheusError, type PrometheusClient, type Sample } from './prometheus-client';
import { parseParams, type CheckActivity } from '../activities/action-contract';

export type PrometheusQuery = Pick<PrometheusClient, 'query'>;

export interface PrometheusActivities {
  'prometheus.query': CheckActivity;
}

/**
 * The one number `query` gives now, or null when it gives no series (or NaN, e.g. 0/0 over an idle
 * window). Several series are a mistake in the query: aggregate them.
 */
export async function instantValue(prometheus: PrometheusQuery, query: string, step: string): Promise<number | null> {
  const samples = await instantSamples(prometheus, query);
  if (samples.length > 1) {
    const shown = samples
      .slice(0, 3)
      .map(({ labels }) => JSON.stringify(labels))
      .join(', ');
    throw ApplicationFailure.nonRetryable(
      `${step}: ${query} gives ${samples.length} series (${shown}…); aggregate it to one, e.g. sum(…) or max(…)`,
      'InvalidParams',
    );
  }
  const value = samples[0]?.value;
  return value === undefined || Number.isNaN(value) ? null : value;
}

/** Every series `query` gives now; Prometheus's errors as activity failures, retryable when trying again can help. */
export async function instantSamples(prometheus: PrometheusQuery, query: string): Promise<Sample[]> {
  try {
    return await prometheus.query(query);
  } catch (error) {
    if (!(error instanceof PrometheusError)) throw error;
    throw error.retryable
      ? ApplicationFailure.retryable(error.message, 'PrometheusUnavailable')
      : ApplicationFailure.nonRetryable(error.message, 'PrometheusRejected');
  }
}

export function createPrometheusActivities(prometheus: PrometheusQuery): PrometheusActivities {
  return {
    async 'prometheus.query'({ params }) {
      const { query } = parseParams('prometheus.query', params);
      return { value: await instantValue(prometheus, query, 'prometheus.query') };
    },
  };
}
