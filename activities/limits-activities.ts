// The engine's limits as runs started before issue 14 ask them, of the single engineLimits workflow (newer runs ask
// the shards: sharded-limits.ts): how many runs may be active at once,
// how many actions one target may take per hour, and which run holds each shared object. A
// refusal is an answer, not a failure.
import { WithStartWorkflowOperation, WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { UpdateDefinition } from '@temporalio/common';
import {
  acquireRunUpdate,
  ENGINE_LIMITS_WORKFLOW_ID,
  releaseRunsUpdate,
  reserveActionUpdate,
  type engineLimits,
  type LimitAnswer,
} from '../workflows/engine-limits';
import type { FlapMemorySettings } from '../workflows/limits/protocol';

export interface Limits {
  maxConcurrentRuns: number;
  maxActionsPerTargetPerHour: number;
  /** How many shard workflows hold the limits (engine.limitShards); default DEFAULT_LIMIT_SHARDS. */
  shards?: number;
  /** How often a saturated shard looks for slots held by runs that ended without releasing (tests: short). */
  sweepEveryMs?: number;
  /** How often the waitlist tells waiting runs their new place (tests: short). */
  reportEveryMs?: number;
  /** engine.flapMemory: how long a target's rollback is remembered, and how much longer its next run holds. */
  flapMemory?: FlapMemorySettings;
}

export interface LimitsDeps extends Limits {
  client: Client;
  taskQueue: string;
}

export interface LimitsActivities {
  'limits.acquireRun': (request: { workflowId: string }) => Promise<LimitAnswer>;
  'limits.releaseRun': (request: { workflowId: string }) => Promise<void>;
  'limits.reserveAction': (request: {
    workflowId: string;
    target: string;
    key: string;
    objects: string[];
  }) => Promise<LimitAnswer>;
}

const HOUR_MS = 3_600_000;

export function createLimitsActivities({
  client,
  taskQueue,
  maxConcurrentRuns,
  maxActionsPerTargetPerHour,
}: LimitsDeps): LimitsActivities {
  /** Asks the engineLimits workflow, starting it on first use. */
  const ask = async <Ret, Args extends [unknown, ...unknown[]]>(
    update: UpdateDefinition<Ret, Args>,
    ...args: Args
  ): Promise<Ret> => {
    const workflowId = ENGINE_LIMITS_WORKFLOW_ID;
    try {
      // The common case, and three times cheaper under a burst than update-with-start (measured).
      return await client.workflow.getHandle(workflowId).executeUpdate(update, { args });
    } catch (error) {
      if (!(error instanceof WorkflowNotFoundError)) throw error;
    }
    return client.workflow.executeUpdateWithStart(update, {
      args,
      startWorkflowOperation: new WithStartWorkflowOperation<typeof engineLimits>('engineLimits', {
        workflowId,
        taskQueue,
        workflowIdConflictPolicy: 'USE_EXISTING',
        args: [],
      }),
    });
  };

  /** Holders that are no longer running (terminated, timed out) give their slots and objects back. */
  async function releaseClosed(holders: string[]): Promise<number> {
    const closed: string[] = [];
    for (const workflowId of holders) {
      const { status } = await client.workflow.getHandle(workflowId).describe();
      if (status.name !== 'RUNNING') closed.push(workflowId);
    }
    if (closed.length > 0) await ask(releaseRunsUpdate, { workflowIds: closed });
    return closed.length;
  }

  return {
    async 'limits.acquireRun'({ workflowId }) {
      const answer = await ask(acquireRunUpdate, { workflowId, max: maxConcurrentRuns });
      if (answer.granted || !answer.holders || (await releaseClosed(answer.holders)) === 0) return answer;
      return ask(acquireRunUpdate, { workflowId, max: maxConcurrentRuns });
    },
    async 'limits.releaseRun'({ workflowId }) {
      await ask(releaseRunsUpdate, { workflowIds: [workflowId] });
    },
    async 'limits.reserveAction'(request) {
      const reserve = () =>
        ask(reserveActionUpdate, { ...request, max: maxActionsPerTargetPerHour, windowMs: HOUR_MS });
      const answer = await reserve();
      if (answer.granted || !answer.holders || (await releaseClosed(answer.holders)) === 0) return answer;
      return reserve();
    },
  };
}
