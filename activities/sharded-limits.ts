// The limits activities of runs since issue 14: they ask the shard workflows (workflows/limits/protocol.ts) through
// updates, and join the waitlist with a signal. A refusal is an answer, not a failure.
import { status as GrpcStatus } from '@grpc/grpc-js';
import { isGrpcServiceError, WithStartWorkflowOperation, WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { UpdateDefinition } from '@temporalio/common';
import type { Guardrails } from '../policy/guardrails';
import {
  admitUpdate,
  joinSignal,
  releaseSignal,
  reserveUpdate,
  shardOf,
  shardWorkflowId,
  unreserveSignal,
  waitlistWorkflowId,
  type RouteClass,
  type Waiter,
} from '../workflows/limits/protocol';
import type { limitShard } from '../workflows/limits/limit-shard';
import type { admissionWaitlist } from '../workflows/limits/admission-waitlist';

export interface ShardedLimitsDeps {
  client: Client;
  taskQueue: string;
  maxConcurrentRuns: number;
  maxActionsPerTargetPerHour: number;
  shards: number;
  /** How often a saturated shard looks for holders that ended without releasing; default SWEEP_EVERY_MS (2 min). */
  sweepEveryMs?: number;
  /** How often the waitlist tells waiters their new place; default REPORT_EVERY_MS (30 s). */
  reportEveryMs?: number;
  guardrails: Pick<Guardrails, 'protectedRoutes' | 'sensitiveRoutes'>;
}

export type AdmitResult = { granted: true; shard: number } | { granted: false; reason: string };
export type ReserveResult = { granted: true; shards: number[] } | { granted: false; reason: string };

export interface ShardedLimitsActivities {
  /** A slot for the run, or (every slot taken) a place on the waitlist: the run is then admitted by a signal. */
  'limits.admit': (request: {
    workflowId: string;
    target: string;
    severity: string;
    route: string | undefined;
    since: string;
  }) => Promise<AdmitResult>;
  /** The change's place in its target's hourly budget and the shared objects it touches. */
  'limits.reserve': (request: {
    workflowId: string;
    target: string;
    key: string;
    objects: string[];
  }) => Promise<ReserveResult>;
  /** Which of these runs are no longer running (terminated, timed out): a shard's sweep gives their slots back. */
  'limits.closedRuns': (request: { workflowIds: string[] }) => Promise<string[]>;
}

const HOUR_MS = 3_600_000;

/** Temporal lets ten updates at a time into one workflow (history.maxInFlightUpdates): the eleventh waits briefly. */
const inFlightLimit = (error: unknown) => isGrpcServiceError(error) && error.code === GrpcStatus.RESOURCE_EXHAUSTED;
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function createShardedLimitsActivities(deps: ShardedLimitsDeps): ShardedLimitsActivities {
  const { client, taskQueue, shards, maxConcurrentRuns: max, guardrails } = deps;

  const ask = async <Ret, Args extends [unknown, ...unknown[]]>(
    shard: number,
    update: UpdateDefinition<Ret, Args>,
    ...args: Args
  ): Promise<Ret> => {
    const workflowId = shardWorkflowId(taskQueue, shard);
    for (let attempt = 0; ; attempt++) {
      try {
        try {
          return await client.workflow.getHandle(workflowId).executeUpdate(update, { args });
        } catch (error) {
          if (!(error instanceof WorkflowNotFoundError)) throw error;
        }
        return await client.workflow.executeUpdateWithStart(update, {
          args,
          startWorkflowOperation: new WithStartWorkflowOperation<typeof limitShard>('limitShard', {
            workflowId,
            taskQueue,
            workflowIdConflictPolicy: 'USE_EXISTING',
            args: [{ taskQueue, shard, ...(deps.sweepEveryMs !== undefined && { sweepEveryMs: deps.sweepEveryMs }) }],
          }),
        });
      } catch (error) {
        // Jittered, a few milliseconds: the activity's own retry would wait a second or more.
        if (!inFlightLimit(error) || attempt >= 200) throw error;
        await pause(5 + Math.random() * Math.min(200, 5 * 2 ** Math.min(attempt, 6)));
      }
    }
  };
  const routeClass = (route: string | undefined): RouteClass =>
    route && guardrails.protectedRoutes.includes(route)
      ? 'protected'
      : route && guardrails.sensitiveRoutes.includes(route)
        ? 'sensitive'
        : 'standard';

  async function closedRuns(workflowIds: string[]): Promise<string[]> {
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
  }

  return {
    async 'limits.admit'({ workflowId, target, severity, route, since }) {
      const home = shardOf(target, shards);
      for (let offset = 0; offset < shards; offset++) {
        const shard = (home + offset) % shards;
        const answer = await ask(shard, admitUpdate, { workflowId, max, shards });
        if (answer.granted) return answer;
        if (answer.saturated) break;
      }
      await client.workflow.signalWithStart<typeof admissionWaitlist, [Waiter & { shards: number }]>(
        'admissionWaitlist',
        {
          workflowId: waitlistWorkflowId(taskQueue),
          taskQueue,
          args: [{ taskQueue, ...(deps.reportEveryMs !== undefined && { reportEveryMs: deps.reportEveryMs }) }],
          signal: joinSignal,
          signalArgs: [{ workflowId, severity, routeClass: routeClass(route), since, shards }],
        },
      );
      return { granted: false, reason: `all ${max} run slots are taken (engine.maxConcurrentRuns is ${max})` };
    },

    async 'limits.reserve'({ workflowId, target, key, objects }) {
      const byShard = new Map<number, string[]>([[shardOf(target, shards), []]]);
      for (const object of objects) {
        const shard = shardOf(object, shards);
        byShard.set(shard, [...(byShard.get(shard) ?? []), object]);
      }
      const targetShard = shardOf(target, shards);
      const reserveAt = (shard: number) =>
        ask(shard, reserveUpdate, {
          workflowId,
          key,
          objects: byShard.get(shard)!,
          ...(shard === targetShard && {
            target: { key: target, max: deps.maxActionsPerTargetPerHour, windowMs: HOUR_MS },
          }),
        });
      const granted: Array<{ shard: number; owned: string[] }> = [];
      // In shard order, so two runs reserving the same objects meet at the first shard they share.
      for (const shard of [...byShard.keys()].sort((a, b) => a - b)) {
        let answer = await reserveAt(shard);
        // A holder that ended without releasing (terminated) gives its objects back, and the shard is asked again.
        if (!answer.granted && answer.holders) {
          const closed = await closedRuns(answer.holders);
          if (closed.length > 0) {
            await client.workflow.getHandle(shardWorkflowId(taskQueue, shard)).signal(releaseSignal, {
              workflowIds: closed,
            });
            answer = await reserveAt(shard);
          }
        }
        if (!answer.granted) {
          await Promise.all(
            granted.map(({ shard: at, owned }) =>
              client.workflow
                .getHandle(shardWorkflowId(taskQueue, at))
                .signal(unreserveSignal, { workflowId, key, objects: owned }),
            ),
          );
          return { granted: false, reason: answer.reason };
        }
        granted.push({ shard, owned: answer.owned });
      }
      return { granted: true, shards: granted.map(({ shard }) => shard) };
    },

    'limits.closedRuns': ({ workflowIds }) => closedRuns(workflowIds),
  };
}
