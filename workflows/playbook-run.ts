// The playbook interpreter: one durable run per playbook × target. It runs the planned steps once,
// keeps a compensation stack, escalates if the alert keeps firing, waits for the alert to resolve
// and stay resolved for the cooldown, then undoes every change in reverse order. Orchestration
// only: every side effect is an activity, and this file imports nothing but the workflow SDK,
// pure modules and types.
import type { SearchAttributeUpdatePair } from '@temporalio/common';
import {
  ApplicationFailure,
  CancellationScope,
  allHandlersFinished,
  condition,
  continueAsNew,
  isCancellation,
  log,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { ActionOutcome, ActionRequest } from '../activities/action-contract';
import type { ApprovalAsk } from '../notify/notify-activities';
import type { ApprovalOutcome } from '../notify/notifier';
import { isFiring, recordNotification } from '../alerts/tracker';
import { addSample, describeSavings, emptyLedger } from '../finops/savings';
import { unmetCondition } from '../playbook/conditions';
import { REFUSED_BY_GUARDRAILS } from '../policy/guardrails';
import type { ActionName } from '../playbook/step-registry';
import type { Measure, PlannedStep, RunPlan } from '../playbook/plan';
import type { Severity } from '../playbook/schema';
import {
  abortUpdate,
  alertNotificationSignal,
  decideUpdate,
  decisionRefusedSignal,
  statusQuery,
  type Adapting,
  type Compensation,
  type Decision,
  type DecisionAnswer,
  type PolicyRecord,
  type RefusedDecision,
  type PlaybookRunInput,
  type RecordedDecision,
  type RunState,
  type RunStatus,
} from './definitions';
import { TELLING_PEOPLE } from './activity-options';
import { stepIdempotencyKey } from './ids';
import { SEARCH_ATTRIBUTES } from './search-attributes';

// Applying gives up after a few attempts so a broken step fails fast and its predecessors are
// rolled back; undoing never gives up on a transient fault, since a change left behind costs money.
const apply = proxyActivities<Activities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 5 },
});
const undo = proxyActivities<Activities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m' },
});
const tell = proxyActivities<Activities>(TELLING_PEOPLE);
// Measuring savings is not the mitigation either: a cost-rate sample taken before a change waits at most a second on a
// Prometheus that is down; a missed sample is noted and the next one comes on schedule.
const sample = proxyActivities<Activities>({
  startToCloseTimeout: '10s',
  retry: { initialInterval: '500ms', maximumAttempts: 2 },
});
// Asking the policy before a change only reads: a local activity, in the worker that runs the
// workflow task, spares the change one round trip through the server.
const askPolicy = proxyLocalActivities<Activities>({
  startToCloseTimeout: '10s',
  retry: { initialInterval: '500ms', backoffCoefficient: 2, maximumInterval: '5s', maximumAttempts: 5 },
});
// A run never goes ahead without the limits' answer: asking retries until it gets one.
const limits = proxyActivities<Activities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s' },
});

// Far below Temporal's 51,200 events and 10,000 signals per execution: a run that absorbs
// Alertmanager's repeats for days continues as new with its state before it gets near them.
const MAX_HISTORY_EVENTS = 10_000;
/** Refused decision attempts kept in the status (the history keeps them all). */
const MAX_REFUSALS_KEPT = 50;

export interface RunSummary {
  state: RunState;
  applied: RunStatus['applied'];
  skipped: RunStatus['skipped'];
  decisions: RunStatus['decisions'];
  escalation: RunStatus['escalation'];
  rollbackReason: string | null;
  savings: RunStatus['savings'];
}

/** The failure's own message, without the SDK's "Activity task failed" wrapper. */
const failureMessage = (error: unknown) =>
  error instanceof Error ? (error.cause instanceof Error ? error.cause.message : error.message) : String(error);
const failureType = (error: unknown) =>
  error instanceof Error && error.cause instanceof ApplicationFailure ? error.cause.type : undefined;
const seconds = (ms: number) => `${ms / 1000}s`;

const summaryOf = ({
  state,
  applied,
  skipped,
  decisions,
  escalation,
  rollbackReason,
  savings,
}: RunStatus): RunSummary => ({ state, applied, skipped, decisions, escalation, rollbackReason, savings });

/** State carried from a run of an earlier version lacks the status fields added since; these stand in. */
const fieldsAddedSince = (): Pick<
  RunStatus,
  'adapting' | 'refusedDecisions' | 'warRoom' | 'savings' | 'verifications'
> => ({
  adapting: [],
  refusedDecisions: [],
  warRoom: null,
  savings: null,
  verifications: [],
});

/** Whether a measured value is where a verify step expects it. */
const hasMoved = (value: number, { below, above }: Extract<PlannedStep, { kind: 'verify' }>['expect']) =>
  below !== undefined ? value < below : value > above!;

/** Steps after a rejected approval do not run; this ends the step loop. */
class Rejected extends Error {}

export async function playbookRun(input: PlaybookRunInput): Promise<RunSummary> {
  const { plan, alert, carried } = input;
  const { workflowId, firstExecutionRunId } = workflowInfo();
  const status: RunStatus = carried
    ? { ...fieldsAddedSince(), ...carried.status }
    : {
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
      };
  if (!carried) recordNotification(status.alerts, alert);
  const firing = () => isFiring(status.alerts);
  const compensations: Compensation[] = carried?.compensations ?? [];
  let escalateAt = carried?.escalateAt ?? null;
  /** Set when the last step verified that the metric did not move: escalation need not wait. */
  let escalateNow: string | undefined;
  const historyLimit = input.historyLimit ?? MAX_HISTORY_EVENTS;
  const historyFull = () => workflowInfo().continueAsNewSuggested || workflowInfo().historyLength >= historyLimit;
  let continuing = false;
  /** Carries the run's state into a fresh history; the first run id (and so every idempotency key) stays. */
  const continueWithFreshHistory = async (): Promise<never> => {
    continuing = true;
    await condition(warRoomPosted);
    await condition(allHandlersFinished);
    log.info('continuing as new', { historyLength: workflowInfo().historyLength });
    return continueAsNew<typeof playbookRun>({ ...input, carried: { status, compensations, escalateAt } });
  };
  /** The rejection that ends the pending approval, once one comes. */
  let rejection: RecordedDecision | undefined;
  let abortReason: string | undefined;
  const main = new CancellationScope();

  setHandler(statusQuery, () => status);
  setHandler(alertNotificationSignal, (notification) => {
    status.notifications.received++;
    const effect = recordNotification(status.alerts, notification);
    if (effect === 'repeated' || effect === 'stale') status.notifications[effect]++;
    else log.info('alert notification', { fingerprint: notification.fingerprint, effect });
  });
  /** Keeps the latest refusals: a click loop must not grow the run's state (and what continue-as-new carries) without bound. */
  const recordRefusal = (refused: RefusedDecision) => {
    status.refusedDecisions.push(refused);
    if (status.refusedDecisions.length > MAX_REFUSALS_KEPT)
      status.refusedDecisions.splice(0, status.refusedDecisions.length - MAX_REFUSALS_KEPT);
  };
  const refuseDecision = (attempt: Decision, refusal: string): DecisionAnswer => {
    recordRefusal({ ...attempt, at: new Date().toISOString(), refusal });
    log.warn('decision refused', { step: attempt.stepId, by: attempt.by, refusal });
    return { accepted: false, refusal };
  };
  /** Why the run cannot take `attempt` now, or undefined when it can. */
  const refusalOf = ({ stepId, by, approve }: Decision): string | undefined => {
    const pending = status.pendingApproval;
    if (pending?.stepId !== stepId || rejection || pending.approvedBy.length >= pending.approvalsNeeded) {
      return status.decisions.some((decided) => decided.stepId === stepId)
        ? `step ${stepId} was already decided`
        : `step ${stepId} is not waiting for approval`;
    }
    // Four eyes: whoever started a run by hand may stop it, not approve it; nobody approves twice.
    if (approve && by === alert.annotations.startedBy)
      return `${by} started this run and cannot approve its steps; ask someone else`;
    if (approve && pending.approvedBy.includes(by))
      return `${by} already approved step ${stepId}; it needs ${pending.approvalsNeeded} different people`;
    return undefined;
  };
  setHandler(
    decideUpdate,
    (attempt): DecisionAnswer => {
      const refusal = refusalOf(attempt);
      if (refusal) return refuseDecision(attempt, refusal);
      const pending = status.pendingApproval!;
      const decision = { ...attempt, at: new Date().toISOString() };
      status.decisions.push(decision);
      if (attempt.approve) pending.approvedBy.push(attempt.by);
      else rejection = decision;
      return {
        accepted: true,
        decision,
        approvalsStillNeeded: attempt.approve ? pending.approvalsNeeded - pending.approvedBy.length : 0,
      };
    },
    {
      // Synchronous on purpose: an anonymous decision is answered to the caller and never recorded.
      validator: ({ by }) => {
        if (!by)
          throw ApplicationFailure.nonRetryable('a decision needs the identity of who decides', 'InvalidDecision');
      },
    },
  );
  setHandler(decisionRefusedSignal, (attempt) => recordRefusal({ ...attempt, at: new Date().toISOString() }));
  setHandler(
    abortUpdate,
    ({ by, reason }) => {
      abortReason = `aborted by ${by}: ${reason}`;
      main.cancel();
      // A change in flight finishes first, and is rolled back with the others.
      return `rolling back ${compensations.length} change(s)`;
    },
    {
      validator: ({ by, reason }) => {
        if (!by || !reason) throw ApplicationFailure.nonRetryable('an abort needs who asks and why', 'InvalidAbort');
        if (abortReason || status.rollbackReason)
          throw ApplicationFailure.nonRetryable(`the run is already ${status.state}`, 'AlreadyEnding');
      },
    },
  );

  const labels = { ...alert.labels, ...plan.target.labels };
  const attribute = (
    key: (typeof SEARCH_ATTRIBUTES)[keyof typeof SEARCH_ATTRIBUTES],
    value: string | undefined,
  ): SearchAttributeUpdatePair[] => (value ? [{ key, value }] : []);
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
  // Every change to the status bumps its version; the war-room's status message follows it.
  let statusVersion = 0;
  let postedVersion = 0;
  const summarize = () => {
    statusVersion++;
    upsertMemo({
      summary: `${plan.playbook.name} (${status.severity}${status.dryRun ? ', dry run' : ''}) on ${plan.target.key}: ${status.state}`,
      alert: alert.labels.alertname ?? null,
      changes: status.applied.map(
        (change) => `${change.stepId}: ${change.summary}${change.undoneAt ? ' (undone)' : ''}`,
      ),
      skipped: status.skipped.map(({ stepId, reason }) => `${stepId}: ${reason}`),
      savings: status.savings && describeSavings(status.savings),
    });
  };
  const setState = (state: RunState) => {
    status.state = state;
    upsertSearchAttributes([{ key: SEARCH_ATTRIBUTES.state, value: state }]);
    summarize();
  };
  summarize();

  const actionRequest = (stepId: string, params: unknown, purpose: ActionRequest['purpose']): ActionRequest => ({
    target: plan.target,
    params,
    idempotencyKey: stepIdempotencyKey(workflowId, firstExecutionRunId, stepId, purpose),
    purpose,
    dryRun: status.dryRun,
  });
  const run = { workflowId, playbook: plan.playbook.name, target: plan.target.key, severity: plan.playbook.severity };
  const skip = (stepId: string, reason: string) => {
    status.skipped.push({ stepId, reason });
    log.info('step skipped', { step: stepId, reason });
    summarize();
  };
  /** Waits until `done` holds or `timeoutMs` passes, showing the deadline in the status. */
  const waitUntil = async (done: () => boolean, timeoutMs: number) => {
    status.nextDeadline = new Date(Date.now() + timeoutMs).toISOString();
    try {
      return await waitAdjusting(done, timeoutMs);
    } finally {
      status.nextDeadline = null;
    }
  };

  /**
   * Waits until `done` holds (true) or `timeoutMs` passes (false). Meanwhile, while the alert
   * fires, each adapt step measures and adjusts on its own schedule.
   */
  const waitAdjusting = async (done: () => boolean, timeoutMs?: number): Promise<boolean> => {
    const deadline = timeoutMs === undefined ? undefined : Date.now() + timeoutMs;
    for (;;) {
      const due = firing() ? status.adapting.map(({ nextAt }) => Date.parse(nextAt)) : [];
      if (status.savings?.nextAt) due.push(Date.parse(status.savings.nextAt));
      const wakeAt = Math.min(deadline ?? Infinity, ...due);
      if (wakeAt === Infinity) return condition(done).then(() => true);
      // A timer needs a positive duration; 1 ms stands for "due now".
      if (await condition(done, Math.max(1, wakeAt - Date.now()))) return true;
      if (deadline !== undefined && Date.now() >= deadline) return false;
      for (const adapting of [...status.adapting]) {
        if (firing() && Date.parse(adapting.nextAt) <= Date.now()) await adjust(adapting);
      }
      if (status.savings?.nextAt && Date.parse(status.savings.nextAt) <= Date.now()) await sampleCost();
    }
  };

  const changesInForce = () => status.applied.some((change) => change.undoneAt === null && !change.dryRun);

  /**
   * Samples the target's cost rate into the savings ledger, and schedules the next sample while
   * changes are in force. Each change's "after" rate is the first sample a whole interval after it.
   * Answers the rate, or null when there is none (noted in the ledger).
   */
  const sampleCost = async (): Promise<number | null> => {
    const ledger = status.savings;
    if (!ledger) return null;
    const everyMs = plan.savings?.everyMs ?? 0;
    ledger.nextAt = null;
    let value: unknown;
    try {
      value = (await sample['prometheus.query']({ target: plan.target, params: { query: ledger.query } })).value;
    } catch (error) {
      if (isCancellation(error)) throw error;
      ledger.note = `measuring the cost rate failed: ${failureMessage(error)}`;
    }
    if (typeof value === 'number') {
      const at = new Date().toISOString();
      // A rate sampled after the first change cannot be the baseline: without one, nothing is attributed.
      if (ledger.baseline || !changesInForce()) {
        status.savings = addSample(ledger, { at, usdPerHour: value });
      } else {
        ledger.note = 'no baseline: the cost rate before the first change could not be measured';
      }
      for (const change of status.applied) {
        if (change.costAfterUsdPerHour === null && Date.parse(at) - Date.parse(change.appliedAt) >= everyMs)
          change.costAfterUsdPerHour = value;
      }
    } else if (value !== undefined) {
      ledger.note = 'the cost rate query gave no series';
    }
    if (changesInForce() && status.state !== 'rolling-back')
      status.savings!.nextAt = new Date(Date.now() + everyMs).toISOString();
    summarize();
    return typeof value === 'number' ? value : null;
  };

  /** The number a measure's check gives now, or why there is none (`answered`: the check ran but gave no number). */
  const measureNow = async (measure: Measure): Promise<{ value: number } | { problem: string; answered: boolean }> => {
    let value: unknown;
    try {
      value = (await apply[measure.check]({ target: plan.target, params: measure.params }))[measure.fact];
    } catch (error) {
      if (isCancellation(error)) throw error;
      return { problem: `measuring failed: ${failureMessage(error)}`, answered: false };
    }
    return typeof value === 'number'
      ? { value }
      : { problem: `${measure.check} gave no number for ${measure.fact}`, answered: true };
  };

  /** Undoes every applied change, newest first. Runs to the end even if the run is cancelled. */
  const rollback = (reason: string) =>
    CancellationScope.nonCancellable(async () => {
      status.rollbackReason = reason;
      status.pendingApproval = null;
      setState('rolling-back');
      let failed = false;
      status.adapting = [];
      // The last sample closes the savings: the rate with every change still in force.
      if (status.savings && changesInForce()) await sampleCost();
      for (const { stepId, action, request } of compensations.reverse()) {
        // An adapt step's changes all go back with its one compensation.
        const changes = status.applied.filter((applied) => applied.stepId === stepId && applied.undoneAt === null);
        try {
          await undo[action](request);
          for (const change of changes) change.undoneAt = new Date().toISOString();
        } catch (error) {
          failed = true;
          for (const change of changes) change.undoError = failureMessage(error);
          log.error('undo failed; the change is still in place', { step: stepId, error: failureMessage(error) });
        }
      }
      compensations.length = 0;
      status.currentStep = null;
      setState(failed ? 'rollback-failed' : 'rolled-back');
      await reportSavings();
    });

  /** Tells the playbook's savings audience, and the engine's metrics, what the run saved. */
  const reportSavings = async () => {
    const ledger = status.savings;
    const described = ledger && describeSavings(ledger);
    if (!ledger?.baseline || !ledger.latest || !described) return;
    const hours = (Date.parse(ledger.latest.at) - Date.parse(ledger.baseline.at)) / 3_600_000;
    await tellPeople('record the savings', () =>
      tell['finops.recordSavings']({
        runId: firstExecutionRunId,
        playbook: plan.playbook.name,
        savedUsd: ledger.savedUsd,
        hours,
      }),
    );
    const reportTo = plan.savings?.reportTo ?? [];
    if (reportTo.length > 0) {
      const message = `${plan.playbook.name} on ${plan.target.key} rolled back after ${hours.toFixed(1)} h of changes: ${described}.`;
      await tellPeople('report the savings', () => tell['notify.send']({ to: reportTo, message, run }));
    }
  };

  /**
   * Applies one change, within the limits and guardrails: answers its outcome, or why it was refused.
   * `keyId` names the change in its idempotency keys (an adapt step makes several).
   */
  const applyChange = async (
    keyId: string,
    action: ActionName,
    params: unknown,
    objects: string[],
  ): Promise<
    | { outcome: ActionOutcome; costBefore: number | null; policy: PolicyRecord | null }
    | { refused: string; by: 'policy' | 'limits' | 'guardrails' }
  > => {
    const request = actionRequest(keyId, params, 'apply');
    // Runs recorded before policies were asked keep their history.
    let policy: PolicyRecord | null = null;
    if (patched('policy-check')) {
      // Runs recorded before the policy was asked locally keep their history.
      const ask = patched('policy-check-local') ? askPolicy : apply;
      const decision = await ask['policy.check']({
        action,
        target: plan.target,
        params,
        severity: status.severity as Severity,
      });
      policy = {
        source: decision.source,
        reason: decision.reason,
        ...(decision.decisionId !== undefined && { decisionId: decision.decisionId }),
      };
      if (!decision.allowed) {
        // A guardrail says the same tomorrow; a spent quota or an OPA that cannot answer may not.
        const permanent =
          (decision.denials ?? []).length > 0 && decision.denials!.every(({ rule }) => rule !== 'tenant_over_quota');
        return {
          refused: `${decision.reason}${decision.decisionId ? ` (OPA decision ${decision.decisionId})` : ''}`,
          by: permanent ? 'guardrails' : 'policy',
        };
      }
    }
    if (!status.dryRun) {
      const reservation = await limits['limits.reserveAction']({
        workflowId,
        target: plan.target.key,
        key: request.idempotencyKey,
        objects,
      });
      if (!reservation.granted) return { refused: reservation.reason, by: 'limits' };
    }
    const costBefore = await sampleCost();
    try {
      // A change in flight when the run is aborted finishes and is recorded, so the rollback undoes
      // it too; cancelled half-way, it could be made at the gateway and never undone.
      return { outcome: await CancellationScope.nonCancellable(() => apply[action](request)), costBefore, policy };
    } catch (error) {
      if (!isCancellation(error) && failureType(error) === REFUSED_BY_GUARDRAILS)
        return { refused: failureMessage(error), by: 'guardrails' };
      throw error;
    }
  };

  /** Records an applied change, and how to undo it unless an earlier change of the step already restores the same fields. */
  const recordChange = (
    stepId: string,
    keyId: string,
    action: ActionName,
    { outcome, costBefore, policy }: { outcome: ActionOutcome; costBefore: number | null; policy: PolicyRecord | null },
    compensate: boolean,
  ) => {
    const appliedAt = new Date().toISOString();
    const costs = status.savings ? { costBeforeUsdPerHour: costBefore, costAfterUsdPerHour: null } : {};
    status.applied.push({
      stepId,
      action,
      summary: outcome.summary,
      previous: outcome.previous,
      dryRun: status.dryRun,
      appliedAt,
      undoneAt: null,
      undoError: null,
      ...costs,
      ...(policy && { policy }),
    });
    if (outcome.undo && compensate)
      compensations.push({
        stepId,
        action: outcome.undo.action,
        request: actionRequest(keyId, outcome.undo.params, 'undo'),
      });
    if (status.savings && !status.savings.nextAt && plan.savings)
      status.savings.nextAt = new Date(Date.now() + plan.savings.everyMs).toISOString();
    summarize();
  };

  const runAction = async (stepId: string, step: Extract<PlannedStep, { kind: 'action' }>) => {
    let result;
    try {
      result = await applyChange(stepId, step.action, step.params, step.objects);
    } catch (error) {
      if (isCancellation(error)) throw error;
      const reason = `step ${stepId} (${step.action}) failed: ${failureMessage(error)}`;
      await rollback(reason);
      if (status.state === 'rolled-back') setState('failed');
      throw ApplicationFailure.nonRetryable(`${reason}; the earlier changes were rolled back`, 'StepFailed');
    }
    if ('refused' in result) return skip(stepId, `refused: ${result.refused}`);
    recordChange(stepId, stepId, step.action, result, true);
  };

  /** The level a measurement calls for: the highest threshold it is above, or null below them all. */
  const levelFor = ({ levels }: Adapting['step'], value: number) =>
    levels.reduce<number | null>((level, { above }, index) => (value > above ? index : level), null);

  /**
   * One round of an adapt step: measure, and move to the level the value calls for. A failed
   * measurement or a refusal keeps the level in force (noted in the status); a guardrail refusal
   * stops the step, since asking again cannot change the answer.
   */
  const adjust = async (adapting: Adapting) => {
    const { stepId, step } = adapting;
    adapting.nextAt = new Date(Date.now() + step.everyMs).toISOString();
    const measured = await measureNow(step.measure);
    if ('problem' in measured) {
      if (measured.answered) adapting.measuredAt = new Date().toISOString();
      adapting.note = `${measured.problem}${measured.answered ? '; the level stays' : ''}`;
      return;
    }
    const { value } = measured;
    adapting.measuredAt = new Date().toISOString();
    adapting.value = value;
    adapting.note = null;
    const level = levelFor(step, value);
    if (level === adapting.level) return;
    const keyId = `${stepId}#${adapting.changes + 1}`;
    try {
      if (level === null) {
        // Below every threshold: the values from before the step come back. The undo leaves the
        // stack only once it has worked; if it fails, the level stays and the rollback still has it.
        const compensation = compensations.find((candidate) => candidate.stepId === stepId);
        if (compensation) {
          await CancellationScope.nonCancellable(() =>
            apply[compensation.action]({
              ...compensation.request,
              idempotencyKey: actionRequest(keyId, null, 'undo').idempotencyKey,
            }),
          );
          compensations.splice(compensations.indexOf(compensation), 1);
          for (const change of status.applied)
            if (change.stepId === stepId && change.undoneAt === null) change.undoneAt = new Date().toISOString();
        }
      } else {
        const result = await applyChange(keyId, step.action, step.levels[level]!.params, step.objects);
        if ('refused' in result) {
          adapting.note = `level above ${step.levels[level]!.above} refused: ${result.refused}`;
          if (result.by === 'guardrails') {
            status.adapting = status.adapting.filter((other) => other !== adapting);
            skip(stepId, adapting.note);
          }
          return;
        }
        recordChange(
          stepId,
          keyId,
          step.action,
          result,
          !compensations.some((compensation) => compensation.stepId === stepId),
        );
      }
    } catch (error) {
      if (isCancellation(error)) throw error;
      adapting.note = `adjusting failed: ${failureMessage(error)}`;
      return;
    }
    adapting.level = level;
    adapting.changes++;
    log.info('adapted', { step: stepId, value, level: level === null ? 'none' : `above ${step.levels[level]!.above}` });
    summarize();
  };

  /**
   * Keeps the war-room's status message current: after each change to the status, one update
   * (changes made while it is in flight are posted together next). It runs beside the steps and
   * cannot be cancelled, so an abort's rollback shows too; the run waits for the last post before
   * it ends or continues as new.
   */
  const keepWarRoomPosted = (message: { channel: string; ts: string }) => {
    void CancellationScope.nonCancellable(async () => {
      for (;;) {
        await condition(() => statusVersion !== postedVersion);
        const posting = statusVersion;
        const warRoomStatus = {
          state: status.state,
          currentStep: status.currentStep,
          changes: status.applied
            .filter(({ undoneAt }) => undoneAt === null)
            .map(({ stepId, summary }) => `${stepId}: ${summary}`),
          pendingApproval: status.pendingApproval
            ? `${status.pendingApproval.stepId}: ${status.pendingApproval.summary}`
            : null,
          nextDeadline: status.nextDeadline,
          savings: status.savings && describeSavings(status.savings),
        };
        await tellPeople('update the war-room status', () =>
          tell['warRoom.status']({ message, run, status: warRoomStatus }),
        );
        postedVersion = posting;
      }
    });
  };
  const warRoomPosted = () => status.warRoom === null || postedVersion === statusVersion;

  /** Telling people (approvers, a war-room) must not stop the run: a failure is logged and the run goes on. */
  const tellPeople = async (what: string, call: () => Promise<unknown>) => {
    try {
      await call();
    } catch (error) {
      if (isCancellation(error)) throw error;
      log.warn(`could not ${what}`, { error: failureMessage(error) });
    }
  };

  const runApproval = async (stepId: string, step: Extract<PlannedStep, { kind: 'approval' }>) => {
    rejection = undefined;
    // Runs recorded before approvals were posted and nudged keep their history: no messages there,
    // and their plans name no number of approvers (one).
    const messaging = patched('approval-messages');
    const approvalsNeeded = messaging ? step.approvalsNeeded : 1;
    const startedAt = Date.now();
    const deadline = new Date(startedAt + step.timeoutMs).toISOString();
    const pending = {
      stepId,
      summary: step.summary,
      deadline,
      approvalsNeeded,
      approvedBy: [] as string[],
      message: null as { channel: string; ts: string } | null,
    };
    status.pendingApproval = pending;
    setState('awaiting-approval');
    const request: ApprovalAsk = {
      run,
      stepId,
      summary: step.summary,
      reason: `${alert.labels.alertname ?? 'alert'}: ${alert.annotations.summary ?? alert.annotations.description ?? 'no summary'}`,
      costImpact: status.savings && describeSavings(status.savings),
      deadline,
      approvalsNeeded,
      to: step.to,
      alertUrl: alert.generatorURL ?? null,
    };
    if (messaging)
      await tellPeople('ask for approval', async () => (pending.message = await tell['approval.request'](request)));

    // A resolution makes the question moot: nothing more is applied for an alert that is gone.
    const decided = () => rejection !== undefined || pending.approvedBy.length >= approvalsNeeded || !firing();
    const nudges = !messaging
      ? []
      : [
          { afterMs: step.remindAfterMs, nudge: { kind: 'reminder' as const, mention: [], alsoTo: [] } },
          ...(step.escalate
            ? [
                {
                  afterMs: step.escalate.afterMs,
                  nudge: { kind: 'escalation' as const, mention: step.escalate.mention, alsoTo: step.escalate.alsoTo },
                },
              ]
            : []),
        ]
          .filter(({ afterMs }) => afterMs < step.timeoutMs)
          .sort((a, b) => a.afterMs - b.afterMs);
    for (const { afterMs, nudge } of nudges) {
      if (await waitUntil(decided, Math.max(0, startedAt + afterMs - Date.now()))) break;
      await tellPeople(`send a ${nudge.kind}`, () =>
        tell['approval.nudge']({ message: pending.message, request, nudge }),
      );
    }
    await waitUntil(decided, Math.max(0, startedAt + step.timeoutMs - Date.now()));
    status.pendingApproval = null;
    setState('applying');

    const approved = pending.approvedBy.length >= approvalsNeeded;
    let outcome: ApprovalOutcome['outcome'];
    if (rejection) outcome = 'rejected';
    else if (approved) outcome = 'approved';
    else if (!firing()) outcome = 'moot: the alert resolved';
    else {
      outcome = step.onTimeout === 'approve' ? 'timed out: approved' : 'timed out: rejected';
      const timedOut = {
        stepId,
        approve: step.onTimeout === 'approve',
        by: 'timeout',
        reason: `no decision within ${seconds(step.timeoutMs)}`,
        at: new Date().toISOString(),
      };
      status.decisions.push(timedOut);
      if (!timedOut.approve) rejection = timedOut;
    }
    const decisions = status.decisions.filter((decision) => decision.stepId === stepId);
    if (messaging)
      await tellPeople('record the outcome', () =>
        tell['approval.settle']({ message: pending.message, request, outcome: { outcome, decisions } }),
      );

    if (outcome === 'moot: the alert resolved')
      throw new Rejected(`${stepId}: the alert resolved before anyone decided`);
    if (!rejection) return;
    const reason = `${stepId} rejected by ${rejection.by}${rejection.reason ? ` (${rejection.reason})` : ''}`;
    if (step.onReject === 'rollback') await rollback(reason);
    throw new Rejected(reason);
  };

  /**
   * Measures until the value is where the step expects it (true) or `withinMs` passes (false);
   * adapt steps keep adjusting meanwhile. A resolved alert needs no more checking.
   */
  const runVerify = async (stepId: string, step: Extract<PlannedStep, { kind: 'verify' }>): Promise<boolean> => {
    const deadline = Date.now() + step.withinMs;
    const expected = step.expect.below === undefined ? `above ${step.expect.above}` : `below ${step.expect.below}`;
    const verified = (moved: boolean, value: number | null, reason: string) => {
      status.verifications.push({ stepId, moved, value, at: new Date().toISOString(), reason });
      summarize();
      return moved;
    };
    for (;;) {
      const measured = await measureNow(step.measure);
      if ('value' in measured && hasMoved(measured.value, step.expect))
        return verified(true, measured.value, `${step.measure.fact} is ${measured.value}, ${expected}`);
      if (!firing()) return verified(true, null, 'the alert resolved');
      if (Date.now() >= deadline) {
        const last = 'value' in measured ? `${step.measure.fact} is still ${measured.value}` : measured.problem;
        return verified(
          false,
          'value' in measured ? measured.value : null,
          `not ${expected} within ${seconds(step.withinMs)}: ${last}`,
        );
      }
      await waitUntil(() => !firing(), Math.min(step.everyMs, deadline - Date.now()));
    }
  };

  /**
   * Runs `steps` in order; a rejected approval ends them (the reason is in the status). Steps of an
   * escalated-to playbook are named `<playbook>/<step id>` in the status, the approvals and the
   * idempotency keys, since S2 and S1 playbooks often share step ids.
   */
  const runSteps = async (steps: readonly PlannedStep[], severity: Severity, escalatedTo?: string) => {
    const idOf = (step: PlannedStep) => (escalatedTo ? `${escalatedTo}/${step.id}` : step.id);
    for (const step of steps) {
      const stepId = idOf(step);
      status.currentStep = stepId;
      const unmet = unmetCondition(step.when, { labels: alert.labels, severity, facts: status.facts });
      if (unmet) {
        skip(stepId, unmet);
        continue;
      }
      try {
        switch (step.kind) {
          case 'action':
            await runAction(stepId, step);
            break;
          case 'check':
            status.facts[step.id] = await apply[step.check]({ target: plan.target, params: step.params, severity });
            break;
          case 'notify':
            await apply['notify.send']({ to: step.to, message: step.message, run });
            break;
          case 'warRoom': {
            const { location, statusMessage } = await apply['warRoom.open']({
              name: step.name,
              invite: step.invite,
              run,
            });
            status.facts[step.id] = { location };
            if (statusMessage && patched('war-room-status')) {
              status.warRoom = { message: statusMessage };
              keepWarRoomPosted(statusMessage);
            }
            break;
          }
          case 'approval':
            await runApproval(stepId, step);
            break;
          case 'waitUntilResolved':
            setState('mitigated');
            await waitAdjusting(() => !firing());
            setState('applying');
            break;
          case 'adapt': {
            const adapting: Adapting = {
              stepId,
              step,
              level: null,
              value: null,
              measuredAt: null,
              changes: 0,
              note: null,
              nextAt: new Date().toISOString(),
            };
            status.adapting.push(adapting);
            await adjust(adapting);
            break;
          }
          case 'verify': {
            const moved = await runVerify(stepId, step);
            const { reason } = status.verifications.at(-1)!;
            if (moved) {
              for (const later of steps.slice(steps.indexOf(step) + 1))
                skip(idOf(later), `not needed: ${stepId} verified ${reason}`);
              status.currentStep = null;
              return;
            }
            // Nothing left to try at this tier: the next one need not wait.
            if (step === steps.at(-1)) escalateNow = `${stepId}: ${reason}`;
            break;
          }
        }
      } catch (error) {
        if (error instanceof Rejected) {
          skip(stepId, error.message);
          for (const later of steps.slice(steps.indexOf(step) + 1)) skip(idOf(later), `not run: ${error.message}`);
          return;
        }
        // Telling people or reading a fact may fail without stopping the mitigation.
        if (!isCancellation(error) && (step.kind === 'check' || step.kind === 'notify' || step.kind === 'warRoom')) {
          skip(stepId, `failed: ${failureMessage(error)}`);
          continue;
        }
        throw error;
      }
    }
    status.currentStep = null;
  };

  /** Still firing `afterMs` after the steps → the more severe playbook's steps run in this run. */
  const escalateIfStillFiring = async (escalation: NonNullable<RunPlan['escalation']>) => {
    if (status.escalation || !firing() || status.state === 'rolled-back') return;
    escalateAt ??= new Date(Date.now() + (escalateNow ? 0 : escalation.afterMs)).toISOString();
    if (await waitUntil(() => !firing() || historyFull(), Math.max(0, Date.parse(escalateAt) - Date.now()))) {
      if (firing()) await continueWithFreshHistory();
      return;
    }
    const to = escalation.plan.playbook;
    status.severity = to.severity;
    const reason = escalateNow
      ? `the steps of ${plan.playbook.name} did not move the metric (${escalateNow})`
      : `still firing ${seconds(escalation.afterMs)} after the steps of ${plan.playbook.name}`;
    status.escalation = { to: to.name, reason, at: new Date().toISOString() };
    upsertSearchAttributes([{ key: SEARCH_ATTRIBUTES.severity, value: to.severity }]);
    log.warn('escalating', status.escalation);
    setState('applying');
    await runSteps(escalation.plan.steps, to.severity, to.name);
  };

  // A run continued as new keeps its war-room current, as the run before it did.
  if (status.warRoom && patched('war-room-status')) keepWarRoomPosted(status.warRoom.message);

  if (!carried) {
    const slot = await limits['limits.acquireRun']({ workflowId });
    if (!slot.granted) {
      for (const step of plan.steps) skip(step.id, `not run: ${slot.reason}`);
      setState('refused');
      return summaryOf(status);
    }
  }

  try {
    await main.run(async () => {
      if (!carried) {
        await runSteps(plan.steps, plan.playbook.severity);
        if (status.state !== 'rolled-back') setState('mitigated');
      }
      if (plan.escalation) await escalateIfStillFiring(plan.escalation);
      if (status.state === 'applying') setState('mitigated');

      // Roll back only once the alert has stayed resolved for the whole cooldown; a re-fire during
      // the cooldown cancels the rollback and the run keeps its changes.
      for (;;) {
        await waitAdjusting(() => !firing() || historyFull());
        if (firing()) await continueWithFreshHistory();
        if (compensations.length === 0) break;
        setState('cooldown');
        if (!(await waitUntil(firing, plan.cooldownMs))) break;
        log.info('alert fired again during the cooldown; rollback cancelled');
        setState('mitigated');
      }
    });
    if (compensations.length > 0 || status.state !== 'rolled-back') {
      await rollback(
        status.rollbackReason ?? `alert resolved and stayed resolved for the ${seconds(plan.cooldownMs)} cooldown`,
      );
    }
  } catch (error) {
    if (!isCancellation(error)) throw error;
    await rollback(abortReason ?? 'run cancelled by an operator');
    // An abort ends the run normally; a cancellation from Temporal ends it as cancelled.
    if (!abortReason) throw error;
  } finally {
    // The slot goes with the run's last execution, however it ends.
    if (!continuing) await CancellationScope.nonCancellable(() => limits['limits.releaseRun']({ workflowId }));
  }

  await condition(warRoomPosted);
  await condition(allHandlersFinished);
  return summaryOf(status);
}
