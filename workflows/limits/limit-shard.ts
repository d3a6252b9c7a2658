// One shard of the engine's limits (protocol.ts says how they fit together): the runs holding its share of the
// slots, the hourly actions of the targets that hash to it, and the owners of the shared objects that do.
import {
  allHandlersFinished,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { ShardedLimitsActivities } from '../../activities/sharded-limits';
import {
  admissionSignal,
  actionsRefusal,
  admitSignal,
  assignSignal,
  heldRefusal,
  limitsReplySignal,
  offerSignal,
  releaseSignal,
  reserveSignal,
  returnSlotsSignal,
  shardQuery,
  shareOf,
  unreserveSignal,
  waitersSignal,
  waitlistWorkflowId,
  type AdmitAnswer,
  type LimitsReply,
  type ReserveAnswer,
  type ReserveRequest,
  type ShardState,
} from './protocol';

const { 'limits.closedRuns': closedRuns } = proxyActivities<ShardedLimitsActivities>({
  startToCloseTimeout: '1m',
  retry: { initialInterval: '1s', maximumInterval: '30s' },
});

// Continue as new well before Temporal's history limits.
// Short histories: a shard (or the waitlist) that leaves the cache replays all of its history at its next task.
const MAX_HISTORY_EVENTS = 2_000;
/** Answers sent per workflow task, so that one task never carries thousands of commands. */
const BATCH = 200;
/** While runs wait, how often the shard looks for holders that ended without releasing (terminated, timed out). */
export const SWEEP_EVERY_MS = 120_000;

export interface LimitShardInput {
  taskQueue: string;
  shard: number;
  /** Default SWEEP_EVERY_MS; tests make it short. */
  sweepEveryMs?: number;
  carried?: ShardState;
}

export async function limitShard(input: LimitShardInput): Promise<void> {
  const { taskQueue, shard, carried, sweepEveryMs = SWEEP_EVERY_MS } = input;
  const state: ShardState = carried ?? {
    runs: {},
    offered: 0,
    waiters: { exist: false, seq: 0 },
    capacity: 0,
    actions: {},
    owners: {},
  };
  // A shard from before flap memory carries none.
  const rollbacks = (state.rollbacks ??= {});
  let toOffer = 0;
  let toAdmit: string[] = [];
  const toReply: Array<{ replyTo: string; reply: LimitsReply }> = [];
  const used = () => Object.keys(state.runs).length + state.offered;
  const free = () => Math.max(0, state.capacity - used());
  /** While runs wait, every slot that frees goes to the waitlist, which gives it to the first of them. */
  const offerFree = () => {
    if (!state.waiters.exist) return;
    const count = free();
    state.offered += count;
    toOffer += count;
  };

  setHandler(shardQuery, () => state);
  const admitAnswer = (workflowId: string, max: number, shards: number): AdmitAnswer => {
    state.capacity = shareOf(shard, shards, max);
    if (state.runs[workflowId]) return { granted: true, shard };
    if (state.waiters.exist) return { granted: false, saturated: true };
    if (free() === 0) return { granted: false, saturated: false };
    state.runs[workflowId] = new Date().toISOString();
    return { granted: true, shard };
  };
  // Where it always was (the order handlers are set in decides the order of the signals that came with the start);
  // reserveAnswer is a function declaration, hoisted, since those signals are handled the moment a handler is set.
  setHandler(admitSignal, ({ replyTo, requestId, workflowId, max, shards, reserve, flap }) => {
    const answer = admitAnswer(workflowId, max, shards);
    const reserved = answer.granted && reserve ? { reserved: reserveAnswer(reserve) } : {};
    // The target's last rollback, if recent enough to make this run a flap.
    const last = flap && rollbacks[flap.target];
    const recent = last !== undefined && Date.now() - Date.parse(last.at) < flap!.withinMs;
    const remembered = recent ? { lastRollback: last } : {};
    toReply.push({ replyTo, reply: { requestId, kind: 'admit', answer: { ...answer, ...reserved, ...remembered } } });
  });
  setHandler(releaseSignal, ({ workflowIds, rolledBack }) => {
    if (rolledBack) {
      const { target, ...memory } = rolledBack;
      rollbacks[target] = memory;
    }
    for (const id of workflowIds) delete state.runs[id];
    for (const [object, owner] of Object.entries(state.owners))
      if (workflowIds.includes(owner)) delete state.owners[object];
    offerFree();
  });
  setHandler(waitersSignal, ({ exist, seq }) => {
    if (seq <= state.waiters.seq) return;
    state.waiters = { exist, seq };
    offerFree();
  });
  setHandler(assignSignal, ({ workflowId }) => {
    state.offered = Math.max(0, state.offered - 1);
    state.runs[workflowId] ??= new Date().toISOString();
    toAdmit.push(workflowId);
  });
  setHandler(returnSlotsSignal, ({ count }) => {
    state.offered = Math.max(0, state.offered - count);
    offerFree();
  });

  function reserveAnswer({ workflowId, key, target, objects }: ReserveRequest): ReserveAnswer {
    const held = objects.filter((object) => state.owners[object] !== undefined && state.owners[object] !== workflowId);
    const recent = target ? (state.actions[target.key] ?? []).filter((a) => a.at > Date.now() - target.windowMs) : [];
    if (target) state.actions[target.key] = recent;
    // Asked again (a request delivered twice): the same answer.
    if (target && recent.some((action) => action.key === key)) return { granted: true, owned: [] };
    if (held.length > 0) return heldRefusal(held, state.owners);
    if (target && recent.length >= target.max)
      return actionsRefusal(target.key, recent.length, target.max, target.windowMs);
    if (target) recent.push({ key, at: Date.now() });
    const owned = objects.filter((object) => state.owners[object] === undefined);
    for (const object of owned) state.owners[object] = workflowId;
    return { granted: true, owned };
  }
  setHandler(reserveSignal, ({ replyTo, requestId, ...request }) => {
    toReply.push({ replyTo, reply: { requestId, kind: 'reserve', answer: reserveAnswer(request) } });
  });
  setHandler(unreserveSignal, ({ workflowId, key, objects }) => {
    for (const [target, actions] of Object.entries(state.actions))
      state.actions[target] = actions.filter((action) => action.key !== key);
    for (const object of objects) if (state.owners[object] === workflowId) delete state.owners[object];
  });

  const waitlist = getExternalWorkflowHandle(waitlistWorkflowId(taskQueue));
  // A run that has ended since it asked needs no answer.
  const reply = ({ replyTo, reply: message }: (typeof toReply)[number]) =>
    getExternalWorkflowHandle(replyTo)
      .signal(limitsReplySignal, message)
      .catch(() => undefined);
  /** Admits the runs the waitlist assigned; a run that has ended since gives its slot straight back. */
  const admit = (workflowId: string) =>
    getExternalWorkflowHandle(workflowId)
      .signal(admissionSignal, { admittedBy: shard })
      .catch(() => {
        delete state.runs[workflowId];
        offerFree();
      });
  const offer = (count: number) =>
    waitlist.signal(offerSignal, { shard, count }).catch(() => {
      // No waitlist to take them (terminated by hand): the slots are free, and nobody is known to wait.
      state.offered = Math.max(0, state.offered - count);
      state.waiters = { exist: false, seq: state.waiters.seq };
    });
  const sweep = async () => {
    const closed = await closedRuns({ workflowIds: Object.keys(state.runs) });
    for (const id of closed) delete state.runs[id];
    for (const [object, owner] of Object.entries(state.owners)) if (closed.includes(owner)) delete state.owners[object];
    offerFree();
  };

  const historyFull = () => workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > MAX_HISTORY_EVENTS;
  const saturated = () => state.waiters.exist && free() === 0 && Object.keys(state.runs).length > 0;
  let lastSweep = Date.now();
  for (;;) {
    const work = () => toOffer > 0 || toAdmit.length > 0 || toReply.length > 0;
    // A timer only while saturated (for the sweep): an idle shard adds nothing to its history.
    const wasSaturated = saturated();
    const wake = () => work() || historyFull() || saturated() !== wasSaturated;
    if (wasSaturated) await condition(wake, Math.max(1, lastSweep + sweepEveryMs - Date.now()));
    else await condition(wake);
    if (work()) {
      const offering = toOffer;
      const admitting = toAdmit;
      const replying = toReply.splice(0, BATCH);
      toOffer = 0;
      toAdmit = [];
      await Promise.all([...(offering > 0 ? [offer(offering)] : []), ...admitting.map(admit), ...replying.map(reply)]);
    } else if (historyFull()) {
      await condition(allHandlersFinished);
      if (!work()) break;
    } else if (saturated() && Date.now() - lastSweep >= sweepEveryMs) {
      lastSweep = Date.now();
      await sweep();
    } else if (!wasSaturated) {
      lastSweep = Date.now();
    }
  }
  // No limit looks back further than a day: older actions and rollbacks need not travel to the next history.
  for (const [target, { at }] of Object.entries(rollbacks))
    if (Date.parse(at) < Date.now() - 86_400_000) delete rollbacks[target];
  for (const [target, actions] of Object.entries(state.actions)) {
    const recent = actions.filter((action) => action.at > Date.now() - 86_400_000);
    if (recent.length > 0) state.actions[target] = recent;
    else delete state.actions[target];
  }
  await continueAsNew<typeof limitShard>({ ...input, carried: state });
}
