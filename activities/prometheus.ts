// Checks that read Prometheus, for `when` conditions on live metric values.
import { ApplicationFailure } from '@temporalio/common';
import { PrometheusError, type PrometheusClient } from '../prometheus/client';
import { parseParams, type CheckActivity } from './action';

export interface PrometheusActivities {
  'prometheus.query': CheckActivity;
}

export function createPrometheusActivities(prometheus: Pick<PrometheusClient, 'query'>): PrometheusActivities {
  return {
    async 'prometheus.query'({ params }) {
      const { query } = parseParams('prometheus.query', params);
      let samples;
      try {
        samples = await prometheus.query(query);
      } catch (error) {
        if (!(error instanceof PrometheusError)) throw error;
        throw error.retryable ? ApplicationFailure.retryable(error.message, 'PrometheusUnavailable') : ApplicationFailure.nonRetryable(error.message, 'PrometheusRejected');
      }
      if (samples.length > 1) {
        const shown = samples.slice(0, 3).map(({ labels }) => JSON.stringify(labels)).join(', ');
        throw ApplicationFailure.nonRetryable(`prometheus.query: ${query} gives ${samples.length} series (${shown}…); aggregate it to one, e.g. sum(…) or max(…)`, 'InvalidParams');
      }
      const value = samples[0]?.value;
      // NaN (0/0 over an idle window) is no measurement, like no series at all.
      return { value: value === undefined || Number.isNaN(value) ? null : value };
    },
  };
}
