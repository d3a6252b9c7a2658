// A run of a cost playbook opens a CAPA for its anomaly once it is admitted (plan.capa), as a child workflow that
// outlives it (ParentClosePolicy ABANDON: the CAPA stays open for people long after the rollback), and tells it what
// it did when it ends. A CAPA that cannot be opened or told is logged: the mitigation never waits on the paperwork.
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { getExternalWorkflowHandle, log, ParentClosePolicy, startChild } from '@temporalio/workflow';
import type { capa } from '../capa/capa';
import { capaRunEndedSignal, capaWorkflowId, type CapaRunOutcome } from '../capa/definitions';
import { failureMessage } from '../failures';
import { playbookRunId } from '../ids';
import type { RunContext } from './run-context';

export async function openCapa(ctx: RunContext): Promise<void> {
  const { plan, alert, status, workflowId, firstExecutionRunId } = ctx;
  if (!plan.capa) return;
  // From the plan, not workflowInfo(): the same id in a replay of a recorded history, whatever id the replay runs it under.
  const capaId = capaWorkflowId(playbookRunId(plan.playbook.name, plan.target.key), firstExecutionRunId);
  const { labels } = plan.target;
  try {
    await startChild<typeof capa>('capa', {
      workflowId: capaId,
      parentClosePolicy: ParentClosePolicy.ABANDON,
      // A run reset in Temporal keeps its first run id: its CAPA, closed since, is not opened a second time.
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
      args: [
        {
          opening: {
            run: {
              workflowId,
              firstRunId: firstExecutionRunId,
              playbook: plan.playbook.name,
              severity: plan.playbook.severity,
              target: plan.target.key,
              tenant: labels.tenant ?? null,
              route: labels.route ?? null,
              startedAt: new Date().toISOString(),
            },
            alert: {
              name: alert.labels.alertname ?? '(no alertname)',
              summary: alert.annotations.summary ?? alert.annotations.description ?? null,
              startsAt: alert.startsAt,
              generatorURL: alert.generatorURL ?? null,
            },
            notifyTo: plan.capa.notifyTo,
            remindEveryMs: plan.capa.remindEveryMs,
          },
        },
      ],
    });
  } catch (error) {
    // Already opened for this first run id (a reset run): it keeps that one.
    if (!(error instanceof WorkflowExecutionAlreadyStartedError)) {
      log.warn('could not open the CAPA; the run goes on', { capaId, error: failureMessage(error) });
      return;
    }
  }
  status.capa = { capaId };
}

/** What the CAPA records of the run: its changes, what they saved, how it ended. */
function outcomeOf({ status }: RunContext): CapaRunOutcome {
  const { savings } = status;
  return {
    state: status.state,
    endedAt: new Date().toISOString(),
    changes: status.applied.map(({ stepId, summary, appliedAt, undoneAt }) => ({
      stepId,
      summary,
      appliedAt,
      undoneAt,
    })),
    costBeforeUsdPerHour: savings?.baseline?.usdPerHour ?? null,
    costAfterUsdPerHour: (savings?.inForce ?? savings?.latest)?.usdPerHour ?? null,
    savedUsd: savings ? savings.savedUsd : null,
    escalatedTo: status.escalation?.to ?? null,
    rollbackReason: status.rollbackReason,
  };
}

export async function tellCapaTheRunEnded(ctx: RunContext): Promise<void> {
  const capaId = ctx.status.capa?.capaId;
  if (!capaId) return;
  try {
    await getExternalWorkflowHandle(capaId).signal(capaRunEndedSignal, outcomeOf(ctx));
  } catch (error) {
    // Closed already: people closed it before the run ended, with what they knew.
    log.info('could not tell the CAPA the run ended', { capaId, error: failureMessage(error) });
  }
}
