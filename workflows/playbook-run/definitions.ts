// The playbook run's messages and status, imported by callers (ingress, CLI, tests) and the workflow.
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { AlertNotification, TrackedAlerts } from '../../alerts/tracker';
import type { ActionRequest } from '../../activities/action-contract';
import type { SavingsLedger } from '../../finops/savings';
import type { ActionName } from '../../playbook/step-registry';
import type { PlannedStep, RunPlan } from '../../playbook/plan';

/** How to undo one applied step: the run keeps these on a stack and undoes them newest first. */
export interface Compensation {
  stepId: string;
  action: ActionName;
  request: ActionRequest;
  /** What the change set, as params of `action` (ActionOutcome.applied): a staged rollback steps back from it. */
  applied?: unknown;
}

export interface PlaybookRunInput {
  /** The resolved playbook: a snapshot, so editing the file never changes a running workflow. */
  plan: RunPlan;
  /** The alert that started the run. */
  alert: AlertNotification & {
    labels: Record<string, string>;
    annotations: Record<string, string>;
    generatorURL?: string;
  };
  /** Set when the run continued as new: its state so far; its steps do not run again. */
  carried?: { status: RunStatus; compensations: Compensation[]; escalateAt: string | null };
  /** History events after which the run continues as new (default 10,000). */
  historyLimit?: number;
}

export type RunState =
  | 'applying'
  | 'awaiting-approval'
  | 'mitigated'
  | 'cooldown'
  | 'rolling-back'
  /** A staged rollback met a breach or a re-fire: it put the last stage back and holds (RunStatus.rollback). */
  | 'holding'
  | 'rolled-back'
  | 'rollback-failed'
  | 'failed'
  | 'refused'
  /** Every run slot is taken (engine.maxConcurrentRuns): the run waits its turn (RunStatus.admission). */
  | 'waiting'
  /** The alert resolved (or the run was aborted) before a slot freed: nothing was changed. */
  | 'ended-waiting';

/** Where the run stands with the engine's limits (workflows/limits/protocol.ts); absent from runs before issue 14. */
export interface Admission {
  /** Why the run waits (null once admitted), its place in the line (1 is next), and among how many. */
  waitingFor: string | null;
  position: number | null;
  waiting: number | null;
  since: string;
  admittedAt: string | null;
  /** The shard holding the run's slot, and every shard where it reserved actions or objects: told when it ends. */
  shard: number | null;
  shards: number[];
  /** The target's shard, which remembers its rollbacks (flap memory); absent from runs before it. */
  home?: number;
}

/** Where a staged rollback stands (staged-rollback.ts). */
export interface RollbackProgress {
  /** The stages: the plan's, after a first one for the changes no stage names. */
  stages: Array<{ undo: string[]; by: number }>;
  /** The stage being undone or watched next (stages.length: every stage done). */
  stage: number;
  /** How far back each step has come (0 to 1). */
  back: Record<string, number>;
  /** The undos of changes a stage took all the way back, kept to put them back on a breach. */
  undone: Compensation[];
  /** Tries after a breach so far (each stage's undo has its own idempotency key per try), and holds so far. */
  attempt: number;
  holds: number;
  /** The last hold's length: the cooldown after a re-fire lasts at least this long. */
  lastHoldMs: number;
  /** Why the rollback holds, and until when (null while it goes on). */
  heldBecause: string | null;
  holdUntil: string | null;
  /** Whether the rollback took the savings ledger's closing sample (with every change in force) before the stages. */
  sampled: boolean;
  /** The audit: every stage undone, watched, breached, put back and resumed, with when. */
  events: Array<{ at: string; stage: number; event: string }>;
}

/** What the limits' shard of the target remembers of its last rollback (workflows/limits/protocol.ts). */
export interface FlapMemory {
  /** The run that rolled back, when its rollback ended, and how many flaps it had itself. */
  previousRun: string;
  rolledBackAt: string;
  flaps: number;
  /** What this run does about it: cooldown and stabilisation multiplied by this. */
  holdFactor: number;
}

export interface AppliedChange {
  stepId: string;
  action: string;
  summary: string;
  previous: unknown;
  dryRun: boolean;
  appliedAt: string;
  undoneAt: string | null;
  undoError: string | null;
  /**
   * The target's cost rate ($/hour) just before the change, and at the first sample a sampling interval after it
   * (playbooks with savings).
   */
  costBeforeUsdPerHour?: number | null;
  costAfterUsdPerHour?: number | null;
  /** Who allowed the change: OPA (with its decision id) or the built-in rules. */
  policy?: PolicyRecord;
}

export interface PolicyRecord {
  source: 'opa' | 'builtin';
  reason: string;
  /** OPA's decision id, to find the decision in OPA's decision log. */
  decisionId?: string;
}

export interface Decision {
  stepId: string;
  approve: boolean;
  /** Who decided: a user id, or `timeout` when the step's declared outcome applied. */
  by: string;
  reason?: string;
  /** Where the decision came from: slack, api (the runs API or CLI), or any Temporal client. */
  via?: string;
}

export interface RecordedDecision extends Decision {
  at: string;
}

/** A decision that was not taken, and why: not authorised, not pending, the same person twice… */
export interface RefusedDecision extends RecordedDecision {
  refusal: string;
}

export type DecisionAnswer =
  { accepted: true; decision: RecordedDecision; approvalsStillNeeded: number } | { accepted: false; refusal: string };

/** An adapt step that keeps adjusting its action while the alert fires. */
export interface Adapting {
  stepId: string;
  step: Extract<PlannedStep, { kind: 'adapt' }>;
  /** Index into step.levels of the level in force; null: none, the values from before the step hold. */
  level: number | null;
  /** The last measurement, and when it was taken. */
  value: number | null;
  measuredAt: string | null;
  /** Level changes so far; each has its own idempotency key. */
  changes: number;
  /** Why the last adjustment did not happen (a failed measurement, a refusal), or null. */
  note: string | null;
  nextAt: string;
}

export interface RunStatus {
  playbook: string;
  digest: string;
  target: string;
  severity: string;
  dryRun: boolean;
  state: RunState;
  currentStep: string | null;
  applied: AppliedChange[];
  /** Steps not run, and why: an unmet `when`, a guardrail, a rejection, a failed notification. */
  skipped: Array<{ stepId: string; reason: string }>;
  facts: Record<string, unknown>;
  pendingApproval: {
    stepId: string;
    summary: string;
    deadline: string;
    approvalsNeeded: number;
    /** Who approved so far (four-eyes steps need two different people). */
    approvedBy: string[];
    /** Where the request was posted (Slack), to update it with the outcome. */
    message: { channel: string; ts: string } | null;
  } | null;
  /** The war-room's live status message, kept current while the run lasts (Slack only). */
  warRoom: { message: { channel: string; ts: string } } | null;
  /** Adapt steps adjusting while the alert fires (cleared by the rollback). */
  adapting: Adapting[];
  decisions: RecordedDecision[];
  /** Every decision attempt that was refused, with who, when and why. */
  refusedDecisions: RefusedDecision[];
  escalation: { to: string; reason: string; at: string } | null;
  alerts: TrackedAlerts;
  /** When the run acts next on its own (end of a cooldown, an approval timeout, an escalation). */
  nextDeadline: string | null;
  /** Alert notifications signalled to the run; the one that started it is signalled too. */
  notifications: { received: number; repeated: number; stale: number };
  /** Why changes were or are being rolled back. */
  rollbackReason: string | null;
  /** What the run's changes saved, from the target's cost rate (playbooks with savings), else null. */
  savings: SavingsLedger | null;
  /** When the last alert notification reached the run (null: carried from a version that did not say). */
  lastNotificationAt: string | null;
  /** The last lost-resolution check (plan.staleAfterMs): what Alertmanager said, or why it could not. */
  staleness: string | null;
  /**
   * When the check asks next, and whether people were told Alertmanager cannot be asked: in the status so that a
   * continue-as-new keeps them (before, a run carried over asked at once and told people again). Absent until the
   * first question.
   */
  lostResolutionCheck?: { nextAskAt: string | null; toldUnreachable: boolean };
  /** What the alert lacked that the playbooks' text names: placeholders stand in (RunPlan.textGaps). */
  textGaps: string[];
  admission?: Admission;
  /** A staged rollback's progress (plan.rollback): absent until it starts. */
  rollback?: RollbackProgress;
  /** The target rolled back recently and fired again: this run holds its changes longer (flap memory). */
  flap?: FlapMemory;
  /** Verify steps: whether the metric moved, with the last value measured. */
  verifications: Array<{ stepId: string; moved: boolean; value: number | null; at: string; reason: string }>;
  /** The CAPA the run opened (plan.capa): its workflow id. Absent: none. */
  capa?: { capaId: string };
}

export const alertNotificationSignal = defineSignal<[AlertNotification]>('alertNotification');
/**
 * Every alert of one Alertmanager notification that shares this run's target, in the notification's order: one
 * Temporal call (and one workflow task) for the lot, where one signal each cost a call and a task per alert.
 */
export const alertNotificationsSignal = defineSignal<[AlertNotification[]]>('alertNotifications');
export const statusQuery = defineQuery<RunStatus>('status');
/**
 * Approve or reject the pending approval step. A decision the run cannot take (nothing pending,
 * already decided, the starter approving, the same person twice) is answered `accepted: false`
 * and recorded with its reason; only a decision without an identity is refused unrecorded.
 */
export const decideUpdate = defineUpdate<DecisionAnswer, [Decision]>('decide');
/** An attempt refused before it reached the run (an unauthorised clicker): recorded in the run's history and status. */
export const decisionRefusedSignal = defineSignal<[Omit<RefusedDecision, 'at'>]>('decisionRefused');
/** Stop the run and roll back everything it changed. */
export const abortUpdate = defineUpdate<string, [{ by: string; reason: string }]>('abort');
