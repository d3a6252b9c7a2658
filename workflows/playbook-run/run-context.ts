// The run's state in one place: its status (what the status query answers), the compensation
// stack, and the few values its modules share (the pending rejection, an abort's reason, the
// escalation time, the war-room's posted version). Each module of the run takes this context as its
// first parameter; nothing else holds state.
import {
  CancellationScope,
  allHandlersFinished,
  condition,
  continueAsNew,
  log,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { ActionRequest } from '../../activities/action-contract';
import { isFiring, recordNotification } from '../../alerts/tracker';
import { describeSavings, emptyLedger } from '../../finops/savings';
import { stepIdempotencyKey } from '../ids';
import { SEARCH_ATTRIBUTES } from '../search-attributes';
import type { Compensation, PlaybookRunInput, RecordedDecision, RunState, RunStatus } from './definitions';
import type { playbookRun } from './playbook-run';
import type { FirstChange } from './first-change';
import { LimitsConversation } from './limits-requests';
import { describeFlap } from './flap-memory';
import { describeRollback } from './staged-rollback';

// Far below Temporal's 51,200 events and 10,000 signals per execution: a run that absorbs
// Alertmanager's repeats for days continues as new with its state before it gets near them.
const MAX_HISTORY_EVENTS = 10_000;

export interface RunSummary {
  state: RunState;
  applied: RunStatus['applied'];
  skipped: RunStatus['skipped'];
  decisions: RunStatus['decisions'];
  escalation: RunStatus['escalation'];
  rollbackReason: string | null;
  savings: RunStatus['savings'];
}

export const seconds = (ms: number) => `${ms / 1000}s`;

/** The plan's text gaps, with those of the playbook it escalates to named by that playbook. */
const textGapsOf = ({ textGaps, escalation }: PlaybookRunInput['plan']): string[] => [
  ...(textGaps ?? []),
  ...(escalation?.plan.textGaps ?? []).map((gap) => `${escalation!.plan.playbook.name}: ${gap}`),
];

/** State carried from a run of an earlier version lacks the status fields added since; these stand in. */
const fieldsAddedSince = ({
  plan,
}: PlaybookRunInput): Pick<
  RunStatus,
  | 'adapting'
  | 'refusedDecisions'
  | 'warRoom'
  | 'savings'
  | 'verifications'
  | 'textGaps'
  | 'lastNotificationAt'
  | 'staleness'
> => ({
  adapting: [],
  refusedDecisions: [],
  warRoom: null,
  savings: null,
  verifications: [],
  textGaps: textGapsOf(plan),
  lastNotificationAt: null,
  staleness: null,
});

const freshStatus = ({ plan }: PlaybookRunInput): RunStatus => ({
  playbook: plan.playbook.name,
  digest: plan.playbook.digest,
  target: plan.target.key,
  severity: plan.playbook.severity,
  dryRun: plan.playbook.dryRun,
  state: 'applying',
  currentStep: null,
  applied: [],
  skipped: [],
  facts: {},
  pendingApproval: null,
  warRoom: null,
  adapting: [],
  decisions: [],
  refusedDecisions: [],
  escalation: null,
  alerts: {},
  nextDeadline: null,
  notifications: { received: 0, repeated: 0, stale: 0 },
  rollbackReason: null,
  savings: plan.savings && !plan.playbook.dryRun ? emptyLedger(plan.savings.query) : null,
  verifications: [],
  textGaps: textGapsOf(plan),
  lastNotificationAt: new Date().toISOString(),
  staleness: null,
});

export class RunContext {
  readonly plan: PlaybookRunInput['plan'];
  readonly alert: PlaybookRunInput['alert'];
  readonly status: RunStatus;
  readonly compensations: Compensation[];
  readonly workflowId: string;
  /** The first execution's run id: idempotency keys stay the same across continue-as-new. */
  readonly firstExecutionRunId: string;
  /** Who the run is, for notifications and activities. */
  readonly run: { workflowId: string; playbook: string; target: string; severity: string };
  /** The steps and the waits between them; an abort cancels it, and the rollback runs outside it. */
  readonly main = new CancellationScope();
  escalateAt: string | null;
  /** Set when the last step verified that the metric did not move: escalation need not wait. */
  escalateNow: string | undefined;
  /** The rejection that ends the pending approval, once one comes. */
  rejection: RecordedDecision | undefined;
  abortReason: string | undefined;
  /** Set once the run continues as new: the limits slot stays with the next execution. */
  continuing = false;
  /** Set when the run rolls back because its alert resolved and stayed so: its shard remembers (flap-memory.ts). */
  rolledBackOnResolution = false;
  /** The shards already told that the run ended (admission.ts). */
  releasedShards: number[] = [];
  readonly limitsConversation = new LimitsConversation();
  /** The first change, asked for with the admission, until its step takes it (first-change.ts). */
  firstChange: FirstChange | undefined;
  // Every change to the status bumps its version; the war-room's status message follows it.
  statusVersion = 0;
  postedVersion = 0;
  private readonly historyLimit: number;

  constructor(private readonly input: PlaybookRunInput) {
    const { plan, alert, carried } = input;
    this.plan = plan;
    this.alert = alert;
    ({ workflowId: this.workflowId, firstExecutionRunId: this.firstExecutionRunId } = workflowInfo());
    this.status = carried ? { ...fieldsAddedSince(input), ...carried.status } : freshStatus(input);
    if (!carried) recordNotification(this.status.alerts, alert);
    this.compensations = carried?.compensations ?? [];
    this.escalateAt = carried?.escalateAt ?? null;
    this.historyLimit = input.historyLimit ?? MAX_HISTORY_EVENTS;
    this.run = {
      workflowId: this.workflowId,
      playbook: plan.playbook.name,
      target: plan.target.key,
      severity: plan.playbook.severity,
    };
  }

  /** Whether the run carries on an earlier execution (its steps already ran). */
  get carried(): boolean {
    return this.input.carried !== undefined;
  }

  firing = () => isFiring(this.status.alerts);

  /** How much longer than planned the run holds its changes: after a flap, its cooldown and stabilisation grow. */
  holdFactor = () => this.status.flap?.holdFactor ?? 1;

  /** How long the alert must stay resolved before the rollback: longer after a flap, and at least the last hold. */
  cooldownMs = () => Math.max(this.plan.cooldownMs * this.holdFactor(), this.status.rollback?.lastHoldMs ?? 0);

  changesInForce = () => this.status.applied.some((change) => change.undoneAt === null && !change.dryRun);

  historyFull = () => workflowInfo().continueAsNewSuggested || workflowInfo().historyLength >= this.historyLimit;

  /** Whether the war-room shows the latest status (or there is none): the run waits for it before it ends. */
  warRoomPosted = () => this.status.warRoom === null || this.postedVersion === this.statusVersion;

  /** Writes the run's memo, the one-line audit the Temporal UI shows, and bumps the status version. */
  summarize(): void {
    const { plan, alert, status } = this;
    this.statusVersion++;
    const waiting = status.admission?.waitingFor
      ? `waits for a run slot${status.admission.position ? ` at position ${status.admission.position} of ${status.admission.waiting}` : ''}: ${status.admission.waitingFor}`
      : null;
    upsertMemo({
      summary: `${plan.playbook.name} (${status.severity}${status.dryRun ? ', dry run' : ''}) on ${plan.target.key}: ${waiting ?? status.state}`,
      ...(status.admission && { waiting }),
      alert: alert.labels.alertname ?? null,
      changes: status.applied.map(
        (change) => `${change.stepId}: ${change.summary}${change.undoneAt ? ' (undone)' : ''}`,
      ),
      skipped: status.skipped.map(({ stepId, reason }) => `${stepId}: ${reason}`),
      savings: status.savings && describeSavings(status.savings),
      ...(status.rollback && { rollback: describeRollback(status.rollback) }),
      ...(status.flap && { flap: describeFlap(status.flap, plan.cooldownMs) }),
    });
  }

  setState(state: RunState): void {
    this.status.state = state;
    upsertSearchAttributes([{ key: SEARCH_ATTRIBUTES.state, value: state }]);
    this.summarize();
  }

  skip(stepId: string, reason: string): void {
    this.status.skipped.push({ stepId, reason });
    log.info('step skipped', { step: stepId, reason });
    this.summarize();
  }

  actionRequest(stepId: string, params: unknown, purpose: ActionRequest['purpose']): ActionRequest {
    return {
      target: this.plan.target,
      params,
      idempotencyKey: stepIdempotencyKey(this.workflowId, this.firstExecutionRunId, stepId, purpose),
      purpose,
      dryRun: this.status.dryRun,
    };
  }

  summary(): RunSummary {
    const { state, applied, skipped, decisions, escalation, rollbackReason, savings } = this.status;
    return { state, applied, skipped, decisions, escalation, rollbackReason, savings };
  }

  /** Carries the run's state into a fresh history; the first run id (and so every idempotency key) stays. */
  async continueWithFreshHistory(): Promise<never> {
    this.continuing = true;
    await condition(this.warRoomPosted);
    await condition(allHandlersFinished);
    log.info('continuing as new', { historyLength: workflowInfo().historyLength });
    const { status, compensations, escalateAt } = this;
    return continueAsNew<typeof playbookRun>({ ...this.input, carried: { status, compensations, escalateAt } });
  }
}
