// The playbook interpreter: one durable run per playbook × target. It runs the planned steps once,
// keeps a compensation stack, escalates if the alert keeps firing, waits for the alert to resolve
// and stay resolved for the cooldown, then undoes every change in reverse order. This file holds
// the handlers and the run's lifecycle; the state is in run-context.ts and each concept in its own
// module. Orchestration only: every side effect is an activity, and these files import nothing but
// the workflow SDK, pure modules and types.
import {
  CancellationScope,
  ContinueAsNew,
  allHandlersFinished,
  condition,
  isCancellation,
  log,
  patched,
  setHandler,
} from '@temporalio/workflow';
import { recordNotification, type AlertNotification } from '../../alerts/tracker';
import { limits } from './activity-proxies';
import { admit, handleAdmission, releaseAdmission } from './admission';
import { handleLimitsReplies } from './limits-requests';
import { upsertRunAttributes } from './audit';
import { handleDecisions } from './decision-handlers';
import { alertNotificationSignal, alertNotificationsSignal, statusQuery, type PlaybookRunInput } from './definitions';
import { escalateIfStillFiring } from './escalation';
import { rollback } from './rollback';
import { rollBackInStages } from './staged-rollback';
import { RunContext, seconds, type RunSummary } from './run-context';
import { countRunEnded, countRunStarted } from './run-metrics';
import { runSteps } from './steps';
import { waitUntil } from './waiting';
import { keepWarRoomPosted } from './war-room';
import { RESOLVED_BY_THE_RUN, waitForResolution } from './lost-resolution';
import { openCapa, tellCapaTheRunEnded } from './capa-opening';

export type { RunSummary } from './run-context';

export async function playbookRun(input: PlaybookRunInput): Promise<RunSummary> {
  const ctx = new RunContext(input);
  // A run continued as new is the same run: it was counted when it started, and is when it ends.
  if (!ctx.carried) countRunStarted(ctx);
  try {
    const summary = await runPlaybook(ctx);
    countRunEnded(ctx, summary.state);
    return summary;
  } catch (error) {
    if (!(error instanceof ContinueAsNew)) countRunEnded(ctx, isCancellation(error) ? 'cancelled' : ctx.status.state);
    throw error;
  }
}

async function runPlaybook(ctx: RunContext): Promise<RunSummary> {
  const { status, plan, compensations, workflowId } = ctx;

  setHandler(statusQuery, () => status);
  const onNotification = (notification: AlertNotification) => {
    status.notifications.received++;
    status.lastNotificationAt = new Date().toISOString();
    const effect = recordNotification(status.alerts, notification);
    if (effect === 'repeated' || effect === 'stale') status.notifications[effect]++;
    else log.info('alert notification', { fingerprint: notification.fingerprint, effect });
  };
  setHandler(alertNotificationSignal, onNotification);
  setHandler(alertNotificationsSignal, (notifications) => notifications.forEach(onNotification));
  handleDecisions(ctx);

  upsertRunAttributes(ctx);
  ctx.summarize();
  // A run continued as new keeps its war-room current, as the run before it did.
  if (status.warRoom && patched('war-room-status')) keepWarRoomPosted(ctx, status.warRoom.message);

  handleAdmission(ctx);
  handleLimitsReplies(ctx);
  // Runs since issue 14 take their slot from the limits' shards, and wait for one when all are taken.
  if (!ctx.carried && patched('sharded-limits')) {
    if (!(await admit(ctx))) {
      await releaseAdmission(ctx);
      return ctx.summary();
    }
  } else if (!ctx.carried) {
    const slot = await limits['limits.acquireRun']({ workflowId });
    if (!slot.granted) {
      for (const step of plan.steps) ctx.skip(step.id, `not run: ${slot.reason}`);
      ctx.setState('refused');
      return ctx.summary();
    }
  }

  // Runs since issue 18 open a CAPA for a cost anomaly (plan.capa), once admitted: alongside the first step, so the
  // first change waits for no child workflow's start.
  const capaOpened = !ctx.carried && plan.capa && patched('capa-for-cost-runs') ? openCapa(ctx) : undefined;

  try {
    await ctx.main.run(async () => {
      if (!ctx.carried) {
        await runSteps(ctx, plan.steps, plan.playbook.severity);
        if (status.state !== 'rolled-back') ctx.setState('mitigated');
      }
      if (plan.escalation) await escalateIfStillFiring(ctx, plan.escalation);
      if (status.state === 'applying') ctx.setState('mitigated');

      // Roll back only once the alert has stayed resolved for the whole cooldown; a re-fire during
      // the cooldown cancels the rollback and the run keeps its changes. A staged rollback that meets
      // a re-fire puts its last stage back, and the run waits for the resolution and the cooldown again.
      for (;;) {
        await waitForResolution(ctx);
        if (ctx.firing()) await ctx.continueWithFreshHistory();
        if (compensations.length === 0) break;
        ctx.setState('cooldown');
        if (await waitUntil(ctx, ctx.firing, ctx.cooldownMs())) {
          log.info('alert fired again during the cooldown; rollback cancelled');
          ctx.setState('mitigated');
          continue;
        }
        if (!plan.rollback) break;
        if ((await rollBackInStages(ctx, plan.rollback)) !== 'fired') break;
        ctx.setState('mitigated');
      }
    });
    if (compensations.length > 0 || status.state !== 'rolled-back') {
      // A resolution the run inferred (the lost-resolution check) says so in the reason.
      const resolved = status.staleness?.endsWith(RESOLVED_BY_THE_RUN) ? status.staleness : 'alert resolved';
      const stages = status.rollback ? `, in ${status.rollback.stages.length} stages` : '';
      ctx.rolledBackOnResolution = !status.rollbackReason;
      await rollback(
        ctx,
        status.rollbackReason ??
          `${resolved} and stayed resolved for the ${seconds(ctx.cooldownMs())} cooldown${stages}`,
      );
    }
  } catch (error) {
    if (!isCancellation(error)) throw error;
    await rollback(ctx, ctx.abortReason ?? 'run cancelled by an operator');
    // An abort ends the run normally; a cancellation from Temporal ends it as cancelled.
    if (!ctx.abortReason) throw error;
  } finally {
    // The slot goes with the run's last execution, however it ends.
    if (ctx.continuing) {
      // The next execution holds it.
    } else if (status.admission) await releaseAdmission(ctx);
    else await CancellationScope.nonCancellable(() => limits['limits.releaseRun']({ workflowId }));
  }

  await capaOpened;
  await tellCapaTheRunEnded(ctx);
  await condition(ctx.warRoomPosted);
  await condition(allHandlersFinished);
  // A slot assigned while the run was ending (signals crossed) goes back too.
  await releaseAdmission(ctx);
  return ctx.summary();
}
