// The contract between the playbook workflow and every action activity. An action reads the
// current state, applies the new one, and answers how to undo it; the workflow keeps the undo on
// its compensation stack. Activities throw ApplicationFailure at this boundary, marked
// non-retryable when trying again cannot help (a 4xx, invalid parameters).
import { ApplicationFailure } from '@temporalio/common';
import type { Target } from '../alerts/target';
import { stepSpec, type ActionName, type CheckName, type StepParams } from '../playbook/step-registry';
import type { Severity } from '../playbook/playbook-schema';
import { formatIssues } from '../validation/issues';

export interface ActionRequest {
  target: Target;
  params: unknown;
  /** Workflow id + run id + step id + phase: the same key never changes anything twice. */
  idempotencyKey: string;
  /** Undoing restores what was there; guardrails apply to new changes only. */
  purpose: 'apply' | 'undo';
  /** Read the current state and say what would change, without changing it. */
  dryRun: boolean;
}

export interface ActionOutcome {
  /** What changed, in words, for the audit: `route chat (tenant acme): maxInputTokens 32768 → 4096`. */
  summary: string;
  /** The state the action replaced. */
  previous: unknown;
  /** The action that restores `previous`; null when nothing changed (or in a dry run). */
  undo: { action: ActionName; params: unknown } | null;
  /**
   * What the change set, as params of its undo action, for actions that can come back part of the way
   * (ActionSpec.stepBack): a staged rollback steps from here toward `undo.params`, and re-applies it on a breach.
   */
  applied?: unknown;
}

export interface CheckRequest {
  target: Target;
  params: unknown;
  /**
   * The run's severity, for a check whose answer depends on it (policy.tier fails closed for S1); absent counts as S1,
   * the cautious answer.
   */
  severity?: Severity;
}

/** A check's facts: each field becomes `<step id>.<field>` for later `when` conditions. */
export type Facts = Record<string, unknown>;

export type ActionActivity = (request: ActionRequest) => Promise<ActionOutcome>;
export type CheckActivity = (request: CheckRequest) => Promise<Facts>;

/** Validates an action's or check's parameters at the activity boundary (the workflow carries them as data). */
export function parseParams<Name extends ActionName | CheckName>(name: Name, params: unknown): StepParams<Name> {
  const schema = stepSpec(name).params;
  const parsed = schema.safeParse(params);
  if (!parsed.success)
    throw ApplicationFailure.nonRetryable(
      `${name}: invalid params: ${formatIssues(parsed.error, schema).join('; ')}`,
      'InvalidParams',
    );
  return parsed.data as StepParams<Name>;
}
