// Policy questions for tests of the built-in rules and of OPA, which must give the same answers.
import type { PolicyDeps } from '../../policy/policy-activities';
import { targetOf, type Target, type TargetKindName } from '../../alerts/target';
import { ControlApiClient } from '../../gateway/control-api-client';
import type { ActionQuestion } from '../../policy/builtin-rules';
import { PrometheusClient } from '../../prometheus/prometheus-client';
import { TEST_GUARDRAILS } from './activities';

export const testTarget = (kind: TargetKindName, labels: Record<string, string>): Target => {
  const result = targetOf(kind, labels);
  if (!result.ok) throw new Error(`test target lacks ${result.missing.join(', ')}`);
  return result.target;
};

/** "May `action` run on `on` with `params`", at S2 under the test guardrails unless `extra` says otherwise. */
export const actionQuestion = (
  action: string,
  on: Target,
  params: unknown,
  extra: Partial<ActionQuestion> = {},
): ActionQuestion => ({
  kind: 'action',
  action,
  target: on,
  params,
  severity: 'S2',
  guardrails: TEST_GUARDRAILS,
  ...extra,
});

// Nothing listens here: what cannot be read counts as unknown (a tenant's usage), or fails the check.
const NOWHERE = 'http://127.0.0.1:9';

/** The policy activities' dependencies with no live numbers to read, under the test guardrails. */
export const offlinePolicyDeps = (extra: Partial<PolicyDeps> = {}): PolicyDeps => ({
  guardrails: TEST_GUARDRAILS,
  prometheus: new PrometheusClient({ baseUrl: NOWHERE, timeoutMs: 1_000 }),
  gateway: new ControlApiClient({ baseUrl: NOWHERE, token: 'unused', timeoutMs: 1_000 }),
  budgets: {},
  ...extra,
});
