// Evaluates a step's `when` condition. Pure and deterministic: the workflow calls it. The
// predicates are a closed set (label matchers, severity, fact comparisons); nothing is evaluated as code.
import type { Labels } from '../alerts/alertmanager';
import { formatMatcher, matches } from '../alerts/matchers';
import type { Condition, Severity } from './playbook-schema';

export interface ConditionContext {
  labels: Labels;
  severity: Severity;
  /** Facts by the id of the check step that gathered them. */
  facts: Record<string, unknown>;
}

const show = (value: unknown) => JSON.stringify(value);

function factValue(fact: string, facts: Record<string, unknown>): unknown {
  const [stepId = '', ...path] = fact.split('.');
  return path.reduce<unknown>(
    (value, key) => (value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined),
    facts[stepId],
  );
}

/** Why the condition does not hold, or undefined when it does (or there is none). */
export function unmetCondition(
  condition: Condition | undefined,
  { labels, severity, facts }: ConditionContext,
): string | undefined {
  if (!condition) return undefined;
  for (const matcher of condition.labels ?? []) {
    if (!matches(matcher, labels)) return `the alert does not match ${formatMatcher(matcher)}`;
  }
  // S1 < S2 < S3 as text, and S1 is the most severe.
  if (condition.severity && severity > condition.severity)
    return `the run is ${severity}; the step needs ${condition.severity} or more severe`;
  for (const { fact, above, below, equals } of condition.facts ?? []) {
    const value = factValue(fact, facts);
    if (value === undefined) return `${fact} is not known (its check did not run or failed)`;
    if (equals !== undefined && value !== equals) return `${fact} is ${show(value)}, not ${show(equals)}`;
    if (above !== undefined && !(typeof value === 'number' && value > above))
      return `${fact} is ${show(value)}, not above ${above}`;
    if (below !== undefined && !(typeof value === 'number' && value < below))
      return `${fact} is ${show(value)}, not below ${below}`;
  }
  return undefined;
}
