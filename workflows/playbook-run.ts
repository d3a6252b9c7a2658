// The playbook interpreter: one durable run per playbook × target. It applies the planned steps
// once, keeps a compensation stack, waits for the alert to resolve and stay resolved for the
// cooldown, then undoes every change in reverse order. Orchestration only: every side effect is an
// activity, and this file imports nothing but the workflow SDK, pure modules and types.
import {
  ApplicationFailure,
  CancellationScope,
  condition,
  isCancellation,
  log,
  proxyActivities,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
  allHandlersFinished,
} from '@temporalio/workflow';
import type { SearchAttributeUpdatePair } from '@temporalio/common';
import type { ActionOutcome, ActionRequest } from '../activities/action';
import type { Activities } from '../activities';
import { isFiring, recordNotification } from '../alerts/tracker';
import type { PlannedStep } from '../playbook/plan';
import { alertNotificationSignal, statusQuery, type PlaybookRunInput, type RunState, type RunStatus } from './definitions';
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

interface Compensation {
  stepId: string;
  request: ActionRequest;
  action: keyof Activities;
}

export interface RunSummary {
  state: RunState;
  applied: RunStatus['applied'];
  rollbackReason: string | null;
}

const failureMessage = (error: unknown) => (error instanceof Error ? (error.cause instanceof Error ? error.cause.message : error.message) : String(error));

export async function playbookRun({ plan, alert }: PlaybookRunInput): Promise<RunSummary> {
  const { workflowId, firstExecutionRunId } = workflowInfo();
  const status: RunStatus = {
    playbook: plan.playbook.name,
    digest: plan.playbook.digest,
    target: plan.target.key,
    state: 'applying',
    currentStep: null,
    applied: [],
    alerts: {},
    nextDeadline: null,
    notifications: { received: 0, repeated: 0, stale: 0 },
    rollbackReason: null,
  };
  recordNotification(status.alerts, alert);

  setHandler(statusQuery, () => status);
  setHandler(alertNotificationSignal, (notification) => {
    status.notifications.received++;
    const effect = recordNotification(status.alerts, notification);
    if (effect === 'repeated' || effect === 'stale') status.notifications[effect]++;
    else log.info('alert notification', { fingerprint: notification.fingerprint, effect });
  });

  const { labels } = plan.target;
  const attribute = (key: (typeof SEARCH_ATTRIBUTES)[keyof typeof SEARCH_ATTRIBUTES], value: string | undefined): SearchAttributeUpdatePair[] =>
    value ? [{ key, value }] : [];
  upsertSearchAttributes([
    ...attribute(SEARCH_ATTRIBUTES.playbook, plan.playbook.name),
    ...attribute(SEARCH_ATTRIBUTES.digest, plan.playbook.digest),
    ...attribute(SEARCH_ATTRIBUTES.severity, plan.playbook.severity),
    ...attribute(SEARCH_ATTRIBUTES.tenant, labels.tenant ?? alert.labels.tenant),
    ...attribute(SEARCH_ATTRIBUTES.route, labels.route ?? alert.labels.route),
    ...attribute(SEARCH_ATTRIBUTES.model, alert.labels.model),
    ...attribute(SEARCH_ATTRIBUTES.target, plan.target.key),
    ...attribute(SEARCH_ATTRIBUTES.state, status.state),
  ]);
  const summarize = () => {
    const changes = status.applied.map((change) => `${change.stepId}: ${change.summary}${change.undoneAt ? ' (undone)' : ''}`);
    upsertMemo({
      summary: `${plan.playbook.name} (${plan.playbook.severity}) on ${plan.target.key}: ${status.state}`,
      alert: alert.labels.alertname ?? null,
      changes,
    });
  };
  const setState = (state: RunState) => {
    status.state = state;
    upsertSearchAttributes([{ key: SEARCH_ATTRIBUTES.state, value: state }]);
    summarize();
  };
  summarize();

  const compensations: Compensation[] = [];
  const request = (step: PlannedStep, params: unknown, phase: 'apply' | 'undo'): ActionRequest => ({
    target: plan.target,
    params,
    idempotencyKey: stepIdempotencyKey(workflowId, firstExecutionRunId, step.id, phase),
  });

  /** Undoes every applied change, newest first. Runs to the end even if the run is cancelled. */
  const rollback = (reason: string) =>
    CancellationScope.nonCancellable(async () => {
      status.rollbackReason = reason;
      setState('rolling-back');
      let failed = false;
      for (const compensation of compensations.reverse()) {
        const change = status.applied.find((applied) => applied.stepId === compensation.stepId)!;
        try {
          await undo[compensation.action](compensation.request);
          change.undoneAt = new Date().toISOString();
        } catch (error) {
          failed = true;
          change.undoError = failureMessage(error);
          log.error('undo failed; the change is still in place', { step: compensation.stepId, error: change.undoError });
        }
      }
      compensations.length = 0;
      status.currentStep = null;
      setState(failed ? 'rollback-failed' : 'rolled-back');
    });

  try {
    for (const step of plan.steps) {
      status.currentStep = step.id;
      let outcome: ActionOutcome;
      try {
        outcome = await apply[step.action](request(step, step.params, 'apply'));
      } catch (error) {
        if (isCancellation(error)) throw error;
        const reason = `step ${step.id} (${step.action}) failed: ${failureMessage(error)}`;
        await rollback(reason);
        if (status.state === 'rolled-back') setState('failed');
        throw ApplicationFailure.nonRetryable(`${reason}; the earlier changes were rolled back`, 'StepFailed');
      }
      status.applied.push({ stepId: step.id, action: step.action, summary: outcome.summary, previous: outcome.previous, appliedAt: new Date().toISOString(), undoneAt: null, undoError: null });
      if (outcome.undo) compensations.push({ stepId: step.id, action: outcome.undo.action, request: request(step, outcome.undo.params, 'undo') });
    }
    status.currentStep = null;
    setState('mitigated');

    // Roll back only once the alert has stayed resolved for the whole cooldown; a re-fire during
    // the cooldown cancels the rollback and the run keeps its changes.
    for (;;) {
      await condition(() => !isFiring(status.alerts));
      setState('cooldown');
      status.nextDeadline = new Date(Date.now() + plan.cooldownMs).toISOString();
      const refired = await condition(() => isFiring(status.alerts), plan.cooldownMs);
      status.nextDeadline = null;
      if (!refired) break;
      log.info('alert fired again during the cooldown; rollback cancelled');
      setState('mitigated');
    }
    await rollback(`alert resolved and stayed resolved for the ${plan.cooldownMs / 1000}s cooldown`);
  } catch (error) {
    if (isCancellation(error)) await rollback('run cancelled by an operator');
    throw error;
  }

  await condition(allHandlersFinished);
  return { state: status.state, applied: status.applied, rollbackReason: status.rollbackReason };
}
