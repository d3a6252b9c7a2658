// The runs waiting for a slot, in admission order (protocol.ts says how it fits with the shards). It only sees
// traffic while every slot is taken: the shards then offer it each slot that frees, it assigns the slot to the
// first waiter, and tells each waiter its place in the line.
import {
  allHandlersFinished,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import {
  admissionSignal,
  admittedBefore,
  assignSignal,
  joinSignal,
  offerSignal,
  returnSlotsSignal,
  shardWorkflowId,
  waitersSignal,
  waitlistQuery,
  withdrawSignal,
  type WaitlistState,
} from './protocol';

// Short histories: a shard (or the waitlist) that leaves the cache replays all of its history at its next task.
const MAX_HISTORY_EVENTS = 2_000;
/** How often waiters hear that their place changed: telling each of thousands at every admission would cost more. */
export const REPORT_EVERY_MS = 30_000;
/** Signals sent per workflow task, so that one task never carries thousands of commands. */
const BATCH = 200;

export interface AdmissionWaitlistInput {
  taskQueue: string;
  /** Default REPORT_EVERY_MS; tests make it short. */
  reportEveryMs?: number;
  carried?: WaitlistState;
}

export async function admissionWaitlist(input: AdmissionWaitlistInput): Promise<void> {
  const { taskQueue, reportEveryMs = REPORT_EVERY_MS } = input;
  const state: WaitlistState = input.carried ?? {
    waiters: [],
    arrivals: 0,
    shards: 1,
    offers: {},
    told: { exist: false, seq: 0 },
    reported: {},
  };
  let joined = false;
  setHandler(waitlistQuery, () => state);
  setHandler(joinSignal, ({ shards, ...waiter }) => {
    state.shards = Math.max(state.shards, shards);
    if (state.waiters.some((w) => w.workflowId === waiter.workflowId)) return;
    const entry = { ...waiter, arrival: state.arrivals++ };
    const at = state.waiters.findIndex((other) => admittedBefore(entry, other));
    state.waiters.splice(at === -1 ? state.waiters.length : at, 0, entry);
    joined = true;
  });
  setHandler(withdrawSignal, ({ workflowId }) => {
    state.waiters = state.waiters.filter((w) => w.workflowId !== workflowId);
    delete state.reported[workflowId];
  });
  setHandler(offerSignal, ({ shard, count }) => {
    state.offers[shard] = (state.offers[shard] ?? 0) + count;
  });

  const send = async (calls: Array<() => Promise<unknown>>) => {
    for (let start = 0; start < calls.length; start += BATCH)
      await Promise.all(calls.slice(start, start + BATCH).map((call) => call().catch(() => undefined)));
  };
  const shard = (index: number) => getExternalWorkflowHandle(shardWorkflowId(taskQueue, index));
  const offered = () => Object.values(state.offers).reduce((sum, count) => sum + count, 0);
  const flagWrong = () => state.told.exist !== state.waiters.length > 0;

  let lastReport = Date.now();
  const reportDue = () => joined || (Date.now() - lastReport >= reportEveryMs && state.waiters.length > 0);
  const historyFull = () => workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > MAX_HISTORY_EVENTS;
  for (;;) {
    const work = () => offered() > 0 || flagWrong() || joined;
    if (state.waiters.length > 0) await condition(() => work() || historyFull(), reportEveryMs);
    else await condition(() => work() || historyFull());

    // Each offered slot goes to the first waiter; with nobody left, back to its shard.
    const assignments: Array<() => Promise<unknown>> = [];
    for (const [index, count] of Object.entries(state.offers)) {
      let left = count;
      while (left > 0 && state.waiters.length > 0) {
        const { workflowId } = state.waiters.shift()!;
        delete state.reported[workflowId];
        assignments.push(() => shard(Number(index)).signal(assignSignal, { workflowId }));
        left--;
      }
      if (left > 0) assignments.push(() => shard(Number(index)).signal(returnSlotsSignal, { count: left }));
      delete state.offers[Number(index)];
    }
    await send(assignments);

    if (flagWrong()) {
      state.told = { exist: state.waiters.length > 0, seq: state.told.seq + 1 };
      const { told } = state;
      await send(Array.from({ length: state.shards }, (_, index) => () => shard(index).signal(waitersSignal, told)));
    }
    if (reportDue()) {
      // New waiters hear their place at once; the others when it changed, every REPORT_EVERY_MS.
      const everyone = Date.now() - lastReport >= reportEveryMs;
      if (everyone) lastReport = Date.now();
      joined = false;
      const waiting = state.waiters.length;
      const changed = state.waiters.flatMap(({ workflowId }, index) => {
        const told = state.reported[workflowId];
        return told === index + 1 || (told !== undefined && !everyone) ? [] : [{ workflowId, position: index + 1 }];
      });
      for (const { workflowId, position } of changed) state.reported[workflowId] = position;
      await send(
        changed.map(({ workflowId, position }) => async () => {
          try {
            await getExternalWorkflowHandle(workflowId).signal(admissionSignal, { position, waiting });
          } catch {
            // Gone without withdrawing (terminated): it waits no more.
            state.waiters = state.waiters.filter((w) => w.workflowId !== workflowId);
            delete state.reported[workflowId];
          }
        }),
      );
    }
    if (historyFull() && !work()) {
      await condition(allHandlersFinished);
      if (!work()) break;
    }
  }
  await continueAsNew<typeof admissionWaitlist>({ ...input, carried: state });
}
