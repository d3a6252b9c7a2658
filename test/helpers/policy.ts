// Policy questions for tests of the built-in rules and of OPA, which must give the same answers.
import { targetOf, type Target, type TargetKindName } from '../../alerts/target';
import type { ActionQuestion } from '../../policy/builtin';
import { TEST_GUARDRAILS } from './activities';

export const testTarget = (kind: TargetKindName, labels: Record<string, string>): Target => {
  const result = targetOf(kind, labels);
  if (!result.ok) throw new Error(`test target lacks ${result.missing.join(', ')}`);
  return result.target;
};

/** "May `action` run on `on` with `params`", at S2 under the test guardrails unless `extra` says otherwise. */
export const actionQuestion = (action: string, on: Target, params: unknown, extra: Partial<ActionQuestion> = {}): ActionQuestion => ({
  kind: 'action',
  action,
  target: on,
  params,
  severity: 'S2',
  guardrails: TEST_GUARDRAILS,
  ...extra,
});
