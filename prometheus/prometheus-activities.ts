// Checks that read Prometheus, for `when` conditions on live metric values.
import { ApplicationFailure } from '@temporalio/common';
import { PrometheusError, type PrometheusClient, type Sample } from './prometheus-client';
import { parseParams, type CheckActivity } from '../activities/action-contract';
import type { Labels } from '../alerts/alertmanager';
import { promqlStringContent } from './promql';

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

/**
 * Refuses a query that holds, as it is, a target label's value that PromQL would read as syntax (a ", a \\, a
 * newline…). A playbook's query is a template into which the plan pastes label values unescaped
 * (playbook/plan.ts renderTemplates), so such a value there may have closed its matcher and changed what the query
 * measures (x"} or vector(1) or {a="): the step fails saying so rather than act on a number the alert chose.
 */
export function refuseRawLabelValues(step: string, query: string, labels: Labels): void {
  for (const [name, value] of Object.entries(labels)) {
    if (value === '' || !query.includes(value)) continue;
    let content: string;
    try {
      content = promqlStringContent(value);
    } catch {
      content = '';
    }
    if (content === value) continue;
    const shown = JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
    throw ApplicationFailure.nonRetryable(
      `${step}: the alert's label ${name} ${shown} holds characters PromQL reads as syntax and the query holds it unescaped (playbook templates paste label values as they are); refused rather than run a query the label may have rewritten`,
      'InvalidParams',
    );
  }
}

export function createPrometheusActivities(prometheus: PrometheusQuery): PrometheusActivities {
  return {
    async 'prometheus.query'({ target, params }) {
      const { query } = parseParams('prometheus.query', params);
      refuseRawLabelValues('prometheus.query', query, target.labels);
      return { value: await instantValue(prometheus, query, 'prometheus.query') };
    },
  };
}
