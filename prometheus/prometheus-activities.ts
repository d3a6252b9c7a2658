// Checks that read Prometheus, for `when` conditions on live metric values.
import { ApplicationFailure } from '@temporalio/common';
import { PrometheusError, type PrometheusClient, type Sample } from './prometheus-client';
import { parseParams, type CheckActivity } from '../activities/action-contract';
import type { Labels } from '../alerts/alertmanager';
import { promqlStringContent, stringLiteralAt } from './promql';

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
 * newline…): such a value may have closed its matcher and changed what the query measures (x"} or vector(1) or
 * {a="), so the step fails saying so rather than act on a number the alert chose. The plan escapes values in a
 * query's string literals (playbook/plan.ts renderQuery); this catches what plans made before that still carry.
 */
export function refuseRawLabelValues(step: string, query: string, labels: Labels): void {
  for (const [name, value] of Object.entries(labels)) {
    if (value === '' || !query.includes(value) || !rawSomewhere(query, value)) continue;
    const shown = JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
    throw ApplicationFailure.nonRetryable(
      `${step}: the alert's label ${name} ${shown} holds characters PromQL reads as syntax and the query holds it unescaped (planned before query templates were escaped, or written outside a quoted string); refused rather than run a query the label may have rewritten`,
      'InvalidParams',
    );
  }
}

/**
 * Whether `value` stands in `query` somewhere unescaped for where it stands, so that PromQL would read it as syntax.
 * A value the query's own text contains (a lone `"`, say) cannot be told from it, and counts as unescaped.
 */
function rawSomewhere(query: string, value: string): boolean {
  let forms: Record<'"' | "'", string>;
  try {
    forms = { '"': promqlStringContent(value, '"'), "'": promqlStringContent(value, "'") };
  } catch {
    return true;
  }
  // Nothing in it any literal would escape: it can be syntax nowhere.
  if (forms['"'] === value && forms["'"] === value && !value.includes('`')) return false;
  // Where the value stands escaped (a form that differs from it), the raw text inside is not the value.
  const escapedSpans = [...new Set(Object.values(forms))]
    .filter((form) => form !== value)
    .flatMap((form) => occurrences(query, form).map((at) => [at, at + form.length] as const));
  for (const at of occurrences(query, value)) {
    // Touching an escaped form, the raw text is made of that form and its literal's quotes (`""` in v="\"\""): a
    // value put in raw leaves no escaped form to touch.
    if (escapedSpans.some(([start, end]) => at < end && at + value.length > start)) continue;
    const literal = stringLiteralAt(query, at);
    // Raw in a quoted literal where it needs no escape, or outside any with nothing a literal would escape: fine.
    if (literal ? literal.quote !== '`' && forms[literal.quote] === value : forms['"'] === value) continue;
    return true;
  }
  return false;
}

const occurrences = (text: string, part: string): number[] => {
  const found: number[] = [];
  for (let at = text.indexOf(part); at !== -1; at = text.indexOf(part, at + 1)) found.push(at);
  return found;
};

export function createPrometheusActivities(prometheus: PrometheusQuery): PrometheusActivities {
  return {
    async 'prometheus.query'({ target, params }) {
      const { query } = parseParams('prometheus.query', params);
      refuseRawLabelValues('prometheus.query', query, target.labels);
      return { value: await instantValue(prometheus, query, 'prometheus.query') };
    },
  };
}
