// Asking the policy (OPA or the built-in rules) whether a change may be made: before each change, and for a run's
// first change beside its admission (first-change.ts).
import { patched } from '@temporalio/workflow';
import type { Severity } from '../../playbook/playbook-schema';
import type { ActionName } from '../../playbook/step-registry';
import { apply, askPolicy } from './activity-proxies';
import type { PolicyRecord } from './definitions';
import type { RunContext } from './run-context';

export type Refused = { refused: string; by: 'policy' | 'limits' | 'guardrails' };
/** Allowed, with the policy's record (null for runs from before policies were asked), or refused. */
export type PolicyAnswer = { policy: PolicyRecord | null } | Refused;

/** What the policy says of a change. */
export async function checkPolicy(
  ctx: RunContext,
  action: ActionName,
  params: unknown,
  { recent = false }: { recent?: boolean } = {},
): Promise<PolicyAnswer> {
  const { status, plan } = ctx;
  // Runs recorded before policies were asked keep their history. A `recent` run (first-change.ts) is newer than
  // these patches by construction, and asks no patch where its replay might not see the marker.
  if (!recent && !patched('policy-check')) return { policy: null };
  // Runs recorded before the policy was asked locally keep their history.
  const ask = recent || patched('policy-check-local') ? askPolicy : apply;
  const decision = await ask['policy.check']({
    action,
    target: plan.target,
    params,
    severity: status.severity as Severity,
  });
  if (!decision.allowed) {
    // A guardrail says the same tomorrow; a spent quota or an OPA that cannot answer may not.
    const permanent =
      (decision.denials ?? []).length > 0 && decision.denials!.every(({ rule }) => rule !== 'tenant_over_quota');
    return {
      refused: `${decision.reason}${decision.decisionId ? ` (OPA decision ${decision.decisionId})` : ''}`,
      by: permanent ? 'guardrails' : 'policy',
    };
  }
  return {
    policy: {
      source: decision.source,
      reason: decision.reason,
      ...(decision.decisionId !== undefined && { decisionId: decision.decisionId }),
    },
  };
}
