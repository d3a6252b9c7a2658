// A run's place within the engine's limits (workflows/limits/protocol.ts): it takes a slot, or waits its turn,
// visibly, until a shard admits it; and when it ends, every shard that holds something of it is told.
import {
  CancellationScope,
  condition,
  getExternalWorkflowHandle,
  log,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import {
  admissionSignal,
  releaseSignal,
  shardWorkflowId,
  waitlistWorkflowId,
  withdrawSignal,
} from '../limits/protocol';
import { SEARCH_ATTRIBUTES } from '../search-attributes';
import { limits } from './activity-proxies';
import type { RunContext } from './run-context';

/** Listens for the waitlist and the shards: registered at the start, since their word may come at any time. */
export function handleAdmission(ctx: RunContext): void {
  setHandler(admissionSignal, (message) => {
    const admission = ctx.status.admission;
    if (!admission) return;
    if ('admittedBy' in message) {
      // A second shard's slot, should signals cross, is given back with the first when the run ends.
      admission.shard ??= message.admittedBy;
      if (!admission.shards.includes(message.admittedBy)) admission.shards.push(message.admittedBy);
      return;
    }
    if (admission.shard !== null) return;
    admission.position = message.position;
    admission.waiting = message.waiting;
    upsertSearchAttributes([{ key: SEARCH_ATTRIBUTES.waitPosition, value: message.position }]);
    ctx.summarize();
  });
}

/** Takes a slot, waiting for one if every slot is taken; false if the run ended first (resolved, aborted). */
export async function admit(ctx: RunContext): Promise<boolean> {
  const { status, plan, workflowId } = ctx;
  const since = new Date().toISOString();
  status.admission = {
    waitingFor: null,
    position: null,
    waiting: null,
    since,
    admittedAt: null,
    shard: null,
    shards: [],
  };
  const answer = await limits['limits.admit']({
    workflowId,
    target: plan.target.key,
    severity: status.severity,
    route: plan.target.labels.route,
    since,
  });
  const admission = status.admission;
  if (answer.granted) {
    admission.shard ??= answer.shard;
    if (!admission.shards.includes(answer.shard)) admission.shards.push(answer.shard);
  } else if (admission.shard === null) {
    admission.waitingFor = answer.reason;
    ctx.setState('waiting');
    upsertSearchAttributes([{ key: SEARCH_ATTRIBUTES.waitingFor, value: 'run slot' }]);
    log.info('waiting for a run slot', { reason: answer.reason });
    await condition(() => admission.shard !== null || !ctx.firing() || ctx.abortReason !== undefined);
    upsertSearchAttributes([
      { key: SEARCH_ATTRIBUTES.waitingFor, value: null },
      { key: SEARCH_ATTRIBUTES.waitPosition, value: null },
    ]);
  }
  if (admission.shard === null) {
    const why = ctx.abortReason ?? 'the alert resolved';
    await getExternalWorkflowHandle(waitlistWorkflowId(workflowInfo().taskQueue))
      .signal(withdrawSignal, { workflowId })
      .catch(() => undefined);
    for (const step of plan.steps) ctx.skip(step.id, `not run: ${why} while the run waited for a slot`);
    admission.waitingFor = null;
    ctx.setState('ended-waiting');
    return false;
  }
  admission.admittedAt = new Date().toISOString();
  admission.waitingFor = null;
  admission.position = null;
  if (status.state === 'waiting') ctx.setState('applying');
  return true;
}

/** Tells every shard that holds something of the run (its slot, its objects) that it has ended. Idempotent. */
export async function releaseAdmission(ctx: RunContext): Promise<void> {
  const admission = ctx.status.admission;
  if (!admission) return;
  const shards = [...new Set([...(admission.shard === null ? [] : [admission.shard]), ...admission.shards])];
  const released = new Set(ctx.releasedShards);
  const { taskQueue } = workflowInfo();
  await CancellationScope.nonCancellable(() =>
    Promise.all(
      shards
        .filter((shard) => !released.has(shard))
        .map(async (shard) => {
          ctx.releasedShards.push(shard);
          await getExternalWorkflowHandle(shardWorkflowId(taskQueue, shard)).signal(releaseSignal, {
            workflowIds: [ctx.workflowId],
          });
        }),
    ),
  );
}
