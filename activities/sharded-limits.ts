// The limits activities of runs since issue 14. Runs talk to the shard workflows and the waitlist
// (workflows/limits/protocol.ts) with signals of their own; these activities only tell a run its settings, start a
// limits workflow that is not running yet, and find holders that ended without releasing.
import { WorkflowNotFoundError } from '@temporalio/client';
import type { Guardrails } from '../policy/guardrails';
import type { LimitsDeps } from './limits-activities';
import {
  limitsTaskQueue,
  shardWorkflowId,
  waitlistWorkflowId,
  type FlapMemorySettings,
  type RouteClass,
} from '../workflows/limits/protocol';

export type ShardedLimitsDeps = LimitsDeps & {
  shards: number;
  guardrails: Pick<Guardrails, 'protectedRoutes' | 'sensitiveRoutes'>;
};

export interface LimitSettings {
  maxConcurrentRuns: number;
  maxActionsPerTargetPerHour: number;
  shards: number;
  /** Where the run's route stands in the admission order. */
  routeClass: RouteClass;
  /** engine.flapMemory; absent from workers before it. */
  flapMemory?: FlapMemorySettings;
}

export interface ShardedLimitsActivities {
  /** The engine's limits as this worker is configured, and the class of the run's route (a local activity). */
  'limits.settings': (request: { route: string | undefined }) => Promise<LimitSettings>;
  /** Delivers a signal to a shard or the waitlist, starting it if it is not running (signalWithStart). */
  'limits.deliver': (request: { to: number | 'waitlist'; signal: string; arg: unknown }) => Promise<void>;
  /** Which of these runs are no longer running (terminated, timed out): their slots and objects come back. */
  'limits.closedRuns': (request: { workflowIds: string[] }) => Promise<string[]>;
}

export function createShardedLimitsActivities(deps: ShardedLimitsDeps): ShardedLimitsActivities {
  const { client, taskQueue, guardrails } = deps;
  const routeClass = (route: string | undefined): RouteClass =>
    route && guardrails.protectedRoutes.includes(route)
      ? 'protected'
      : route && guardrails.sensitiveRoutes.includes(route)
        ? 'sensitive'
        : 'standard';

  return {
    'limits.settings': ({ route }) =>
      Promise.resolve({
        maxConcurrentRuns: deps.maxConcurrentRuns,
        maxActionsPerTargetPerHour: deps.maxActionsPerTargetPerHour,
        shards: deps.shards,
        routeClass: routeClass(route),
        ...(deps.flapMemory && { flapMemory: deps.flapMemory }),
      }),

    async 'limits.deliver'({ to, signal, arg }) {
      const options = { taskQueue: limitsTaskQueue(taskQueue), signal, signalArgs: [arg] };
      if (to === 'waitlist') {
        await client.workflow.signalWithStart('admissionWaitlist', {
          ...options,
          workflowId: waitlistWorkflowId(taskQueue),
          args: [{ taskQueue, ...(deps.reportEveryMs !== undefined && { reportEveryMs: deps.reportEveryMs }) }],
        });
      } else {
        await client.workflow.signalWithStart('limitShard', {
          ...options,
          workflowId: shardWorkflowId(taskQueue, to),
          args: [{ taskQueue, shard: to, ...(deps.sweepEveryMs !== undefined && { sweepEveryMs: deps.sweepEveryMs }) }],
        });
      }
    },

    async 'limits.closedRuns'({ workflowIds }) {
      const closed: string[] = [];
      for (const workflowId of workflowIds) {
        try {
          const { status } = await client.workflow.getHandle(workflowId).describe();
          if (status.name !== 'RUNNING') closed.push(workflowId);
        } catch (error) {
          if (error instanceof WorkflowNotFoundError) closed.push(workflowId);
          else throw error;
        }
      }
      return closed;
    },
  };
}
