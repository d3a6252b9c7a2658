// One long-lived workflow that holds the engine's limits across runs: how many runs are active,
// how many actions each target took in the last hour, and which run holds each shared object. Runs ask it through
// updates (from the
// limits activities), so the count is exact whatever the number of workers and ingresses.
import {
  allHandlersFinished,
  condition,
  continueAsNew,
  defineQuery,
  defineUpdate,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';

import { actionsRefusal, heldRefusal } from './limits/protocol';

export const ENGINE_LIMITS_WORKFLOW_ID = 'finops-soar/engine-limits';

export interface EngineLimitsState {
  /** Active runs by workflow id, with when they took their slot. */
  runs: Record<string, string>;
  /** Per target key: the reservation keys and times of its actions inside the window. */
  actions: Record<string, Array<{ key: string; at: number }>>;
  /**
   * The run that changed each shared object (a route's policy, a tenant's quota, a deployment…),
   * until it ends: another run's change to it is refused, so no two runs stack changes on one
   * object and then undo each other's.
   */
  owners: Record<string, string>;
}

export type LimitAnswer = { granted: true } | { granted: false; reason: string; holders?: string[] };

export const acquireRunUpdate = defineUpdate<LimitAnswer, [{ workflowId: string; max: number }]>('acquireRun');
export const releaseRunsUpdate = defineUpdate<void, [{ workflowIds: string[] }]>('releaseRuns');
/**
 * `workflowId` and `objects` are absent from the runs of earlier versions (before shared objects
 * had owners): this long-lived workflow still answers them, and its recorded history replays.
 */
export const reserveActionUpdate = defineUpdate<
  LimitAnswer,
  [{ workflowId?: string; target: string; key: string; objects?: string[]; max: number; windowMs: number }]
>('reserveAction');
export const limitsQuery = defineQuery<EngineLimitsState>('limits');

// Continue as new well before Temporal's history limits; every update adds a few events.
const MAX_HISTORY_EVENTS = 5_000;

export async function engineLimits(carried?: EngineLimitsState): Promise<void> {
  // State carried from an earlier version has no owners yet.
  const state: EngineLimitsState = { runs: {}, actions: {}, owners: {}, ...carried };
  setHandler(limitsQuery, () => state);

  setHandler(acquireRunUpdate, ({ workflowId, max }) => {
    const active = Object.keys(state.runs);
    if (state.runs[workflowId] || active.length < max) {
      state.runs[workflowId] ??= new Date().toISOString();
      return { granted: true };
    }
    return {
      granted: false,
      reason: `${active.length} runs are already active (engine.maxConcurrentRuns is ${max})`,
      holders: active,
    };
  });

  setHandler(releaseRunsUpdate, ({ workflowIds }) => {
    for (const id of workflowIds) delete state.runs[id];
    for (const [object, owner] of Object.entries(state.owners))
      if (workflowIds.includes(owner)) delete state.owners[object];
  });

  setHandler(reserveActionUpdate, ({ workflowId, target, key, objects = [], max, windowMs }) => {
    const since = Date.now() - windowMs;
    const recent = (state.actions[target] ?? []).filter((action) => action.at > since);
    state.actions[target] = recent;
    if (recent.some((action) => action.key === key)) return { granted: true };
    const held = objects.filter((object) => state.owners[object] !== undefined && state.owners[object] !== workflowId);
    if (held.length > 0) return heldRefusal(held, state.owners);
    if (recent.length >= max) return actionsRefusal(target, recent.length, max, windowMs);
    recent.push({ key, at: Date.now() });
    if (workflowId) for (const object of objects) state.owners[object] = workflowId;
    return { granted: true };
  });

  await condition(() => workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > MAX_HISTORY_EVENTS);
  await condition(allHandlersFinished);
  // No limit looks back further than a day: older actions need not travel to the next history.
  const dayAgo = Date.now() - 86_400_000;
  for (const [target, actions] of Object.entries(state.actions)) {
    const recent = actions.filter((action) => action.at > dayAgo);
    if (recent.length > 0) state.actions[target] = recent;
    else delete state.actions[target];
  }
  await continueAsNew<typeof engineLimits>(state);
}
