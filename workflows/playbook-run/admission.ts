// A run's place within the engine's limits (workflows/limits/protocol.ts): it takes a slot, or waits its turn,
// visibly, until a shard admits it; and when it ends, every shard that holds something of it is told.
import { CancellationScope, condition, log, patched, setHandler, upsertSearchAttributes } from '@temporalio/workflow';
import {
  admissionSignal,
  joinSignal,
  releaseSignal,
  shardOf,
  withdrawSignal,
  type ReserveAnswer,
} from '../limits/protocol';
import { SEARCH_ATTRIBUTES } from '../search-attributes';
import { prepareFirstChange, type FirstChange } from './first-change';
import { describeFlap, flapFrom } from './flap-memory';
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
  // Runs since flap memory ask the target's shard for its last rollback, and tell it theirs (flap-memory.ts).
  const remembers = patched('flap-memory');
  // The settings and the first change's policy answer: two local activities, asked at once.
  const [{ maxConcurrentRuns: max, shards, routeClass, flapMemory }, first] = await Promise.all([
    limitsSettings(ctx),
    withFirstChange ? prepareFirstChange(ctx) : undefined,
  ]);
  ctx.firstChange = first;
  const home = shardOf(plan.target.key, shards);
  if (remembers) admission.home = home;
  const flap =
    remembers && flapMemory && flapMemory.withinMs > 0
      ? { target: plan.target.key, withinMs: flapMemory.withinMs }
      : undefined;
  const took = (shard: number) => void (admission.shards.includes(shard) || admission.shards.push(shard));
  /**
   * A slot at the target's shard, or else a place in line. A full shard does not send the run on to the others: the
   * line's first waiter makes every shard hand its free slots to the waitlist, which gives them out in order, so a
   * run never waits while a slot is free, and a storm's runs make one request each, not one per shard. With the
   * first change, the shard that grants the slot reserves its part of the change too; a run sent to wait holds
   * nothing, and its change is asked for again when its turn comes.
   */
  const askForSlot = async (change?: FirstChange) => {
    const reserve = change?.parts.find(({ shard }) => shard === home)?.request;
    const answer = await askAdmit(ctx, home, {
      workflowId,
      max,
      shards,
      ...(reserve && { reserve }),
      ...(flap && { flap }),
    });
    if (answer.lastRollback && flapMemory && !status.flap) {
      status.flap = flapFrom(answer.lastRollback, flapMemory);
      log.warn('the target flapped', { flap: describeFlap(status.flap, plan.cooldownMs) });
      ctx.summarize();
    }
    if (!answer.granted) return;
    admission.shard ??= answer.shard;
    took(answer.shard);
    if (change) await reserveTheRest(change, answer.reserved);
  };
  /** Admitted with its first change's part at the target's shard: the other shards' parts, all at once. */
  const reserveTheRest = async (change: FirstChange, reserved: ReserveAnswer | undefined) => {
    if ('refused' in change.policy) return void (change.ready = true);
    // Refused there, or a shard from before that reserves nothing with a slot: the step asks in order.
    if (!reserved?.granted) return;
    const rest = await reserveAtOnce(
      ctx,
      change.key,
      change.parts.filter(({ shard }) => shard !== home),
    );
    if (!rest.granted) return giveBack(ctx, change.key, { shard: home, owned: reserved.owned });
    change.ready = true;
    rest.parts.forEach(({ shard }) => took(shard));
  };
  let asked = 0;
  const ask = async (): Promise<{ granted: boolean; reason: string }> => {
    if (admission.shard === null) await askForSlot(asked++ === 0 ? first : undefined);
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

/**
 * Tells every shard that holds something of the run (its slot, its objects) that it has ended. Idempotent. A run
 * that rolled back after its alert resolved tells its target's shard so, for the target's next run (flap memory).
 */
export async function releaseAdmission(ctx: RunContext): Promise<void> {
  const { status } = ctx;
  const admission = status.admission;
  if (!admission) return;
  const home = admission.home;
  const rolledBack =
    home !== undefined &&
    ctx.rolledBackOnResolution &&
    status.state === 'rolled-back' &&
    status.applied.some((change) => !change.dryRun && change.undoneAt !== null)
      ? {
          target: ctx.plan.target.key,
          workflowId: ctx.workflowId,
          runId: ctx.firstExecutionRunId,
          at: new Date().toISOString(),
          flaps: status.flap?.flaps ?? 0,
        }
      : undefined;
  const shards = [
    ...new Set([
      ...(admission.shard === null ? [] : [admission.shard]),
      ...admission.shards,
      ...(rolledBack ? [home!] : []),
    ]),
  ];
  const released = new Set(ctx.releasedShards);
  await CancellationScope.nonCancellable(() =>
    Promise.all(
      shards
        .filter((shard) => !released.has(shard))
        .map(async (shard) => {
          ctx.releasedShards.push(shard);
          const memory = rolledBack && shard === home ? { rolledBack } : {};
          await tell(shard, releaseSignal, { workflowIds: [ctx.workflowId], ...memory });
        }),
    ),
  );
}
