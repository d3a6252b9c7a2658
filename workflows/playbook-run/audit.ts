// What the Temporal UI and `temporal workflow list --query` show of a run: its search attributes
// (which playbook and version, on what, in what state). The memo and the state attribute follow
// the run (RunContext.summarize, RunContext.setState); these are set once, at the start.
import type { SearchAttributeUpdatePair } from '@temporalio/common';
import { patched, upsertSearchAttributes } from '@temporalio/workflow';
import { keywordValue, SEARCH_ATTRIBUTES } from '../search-attributes';
import type { RunContext } from './run-context';

type AttributeKey = (typeof SEARCH_ATTRIBUTES)['playbook'];

export function upsertRunAttributes({ plan, alert, status }: RunContext): void {
  const labels = { ...alert.labels, ...plan.target.labels };
  // Label values are the alert's, of any length; Temporal takes at most 2 KiB a value (keywordValue says why).
  const bounded = patched('bounded-search-attributes');
  const attribute = (key: AttributeKey, value: string | undefined): SearchAttributeUpdatePair[] =>
    value ? [{ key, value: bounded ? keywordValue(value) : value }] : [];
  upsertSearchAttributes([
    ...attribute(SEARCH_ATTRIBUTES.playbook, plan.playbook.name),
    ...attribute(SEARCH_ATTRIBUTES.digest, plan.playbook.digest),
    ...attribute(SEARCH_ATTRIBUTES.severity, plan.playbook.severity),
    ...attribute(SEARCH_ATTRIBUTES.tenant, labels.tenant),
    ...attribute(SEARCH_ATTRIBUTES.route, labels.route),
    ...attribute(SEARCH_ATTRIBUTES.model, labels.model),
    ...attribute(SEARCH_ATTRIBUTES.target, plan.target.key),
    ...attribute(SEARCH_ATTRIBUTES.state, status.state),
  ]);
}
