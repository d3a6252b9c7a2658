// A run's place within the engine's limits (workflows/limits/protocol.ts): it takes a slot, or waits its turn,
// visibly, until a shard admits it; and when it ends, every shard that holds something of it is told.
import { CancellationScope, condition, log, patched, setHandler, upsertSearchAttributes } from '@temporalio/workflow';
import { admissionSignal, joinSignal, releaseSignal, shardOf, withdrawSignal } from '../limits/protocol';
import { SEARCH_ATTRIBUTES } from '../search-attributes';
import { prepareFirstChange } from './first-change';
import { askAdmit, giveBack, limitsSettings, reserveAtOnce, tell } from './limits-requests';
import type { RunContext } from './run-context';

const ASK_AGAIN_EVERY = '10m';

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
  const admission = status.admission;
  // New runs send their first change's reservation with their first request (first-change.ts). Asked before the
  // local activity below: a patch asked after a local activity may land in the next workflow task's history (the
  // worker ends a long first task there), where a replay of this task would not see it.
  const withFirstChange = patched('first-change-with-admission');
  const { maxConcurrentRuns: max, shards, routeClass } = await limitsSettings(ctx);
  /**
   * A slot at the target's shard, or else a place in line. A full shard does not send the run on to the others: the
   * line's first waiter makes every shard hand its free slots to the waitlist, which gives them out in order, so a
   * run never waits while a slot is free, and a storm's runs make one request each, not one per shard.
   */
  const took = (shard: number) => void (admission.shards.includes(shard) || admission.shards.push(shard));
  const askForSlot = async () => {
    const answer = await askAdmit(ctx, shardOf(plan.target.key, shards), { workflowId, max, shards });
    if (answer.granted) {
      admission.shard ??= answer.shard;
      took(answer.shard);
    }
  };
  const first = withFirstChange ? await prepareFirstChange(ctx) : undefined;
  ctx.firstChange = first;
  const askWithFirstChange = async (change: NonNullable<typeof first>) => {
    const [, reservation] = await Promise.all([askForSlot(), reserveAtOnce(ctx, change.key, change.parts)]);
    if (!reservation.granted) return;
    if (admission.shard !== null) {
      change.ready = true;
      reservation.parts.forEach(({ shard }) => took(shard));
    } else {
      // Waiting, the run holds nothing: its turn may come in an hour, and the change is asked for again then.
      await Promise.all(reservation.parts.map((part) => giveBack(ctx, change.key, part)));
    }
  };
  let asked = 0;
  const ask = async (): Promise<{ granted: boolean; reason: string }> => {
    if (admission.shard === null) {
      if (asked++ === 0 && first && 'policy' in first.policy) await askWithFirstChange(first);
      else await askForSlot();
      if (asked === 1 && first && 'refused' in first.policy) first.ready = admission.shard !== null;
    }
    if (admission.shard !== null) return { granted: true, reason: '' };
    await tell('waitlist', joinSignal, { workflowId, severity: status.severity, routeClass, since, shards });
    return { granted: false, reason: `all ${max} run slots are taken (engine.maxConcurrentRuns is ${max})` };
  };
  const answer = await ask();
  if (!answer.granted && admission.shard === null) {
    admission.waitingFor = answer.reason;
    ctx.setState('waiting');
    upsertSearchAttributes([{ key: SEARCH_ATTRIBUTES.waitingFor, value: 'run slot' }]);
    log.info('waiting for a run slot', { reason: answer.reason });
    const over = () => admission.shard !== null || !ctx.firing() || ctx.abortReason !== undefined;
    // Asked again now and then (it keeps its place: same arrival time), so that a waitlist restarted by hand, or
    // a word lost with it, cannot leave the run waiting for ever.
    while (!(await condition(over, ASK_AGAIN_EVERY))) await ask();
    upsertSearchAttributes([
      { key: SEARCH_ATTRIBUTES.waitingFor, value: null },
      { key: SEARCH_ATTRIBUTES.waitPosition, value: null },
    ]);
  }
  if (admission.shard === null) {
    const why = ctx.abortReason ?? 'the alert resolved';
    await tell('waitlist', withdrawSignal, { workflowId });
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
  await CancellationScope.nonCancellable(() =>
    Promise.all(
      shards
        .filter((shard) => !released.has(shard))
        .map(async (shard) => {
          ctx.releasedShards.push(shard);
          await tell(shard, releaseSignal, { workflowIds: [ctx.workflowId] });
        }),
    ),
  );
}
