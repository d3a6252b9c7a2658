// The worker of the limits workflows (workflows/limits/), beside the runs' worker in the same process, on a task
// queue of their own: a storm's thousands of run tasks never queue in front of a shard's, and thousands of cached
// runs never evict a shard from the cache (it would replay its whole history at each task). A handful of workflows:
// a small cache and few slots.
import { Worker, type NativeConnection, type WorkerOptions } from '@temporalio/worker';
import type { Activities } from '../activities';
import { limitsTaskQueue } from '../workflows/limits/protocol';

export function createLimitsWorker(options: {
  connection: NativeConnection;
  namespace?: string;
  /** The runs' task queue: the limits' is named after it. */
  taskQueue: string;
  workflowBundle: NonNullable<WorkerOptions['workflowBundle']>;
  /** The shards' own activity (limits.closedRuns) is among them. */
  activities: Activities;
}): Promise<Worker> {
  return Worker.create({
    connection: options.connection,
    ...(options.namespace !== undefined && { namespace: options.namespace }),
    taskQueue: limitsTaskQueue(options.taskQueue),
    workflowBundle: options.workflowBundle,
    activities: options.activities,
    maxCachedWorkflows: 100,
    maxConcurrentWorkflowTaskExecutions: 8,
    maxConcurrentActivityTaskExecutions: 8,
  });
}
