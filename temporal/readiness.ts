// Readiness probes for the processes that depend on Temporal: the ingress is ready when Temporal
// answers (otherwise every webhook would be answered 503); the worker when Temporal lists it among
// the pollers of its task queue (a worker that is up but not polling runs nothing). Each answers
// undefined when ready, else why not, for a person reading the probe.
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';

/** Why Temporal does not answer within `timeoutMs`, or undefined when it does. */
export async function temporalUnanswered(client: Client, timeoutMs: number): Promise<string | undefined> {
  try {
    await client.withDeadline(Date.now() + timeoutMs, () => client.workflowService.getSystemInfo({}));
    return undefined;
  } catch (error) {
    return `Temporal does not answer: ${(error as Error).message}`;
  }
}

export interface PollerCheck {
  client: Client;
  namespace: string;
  taskQueue: string;
  /** The worker's identity, as it polls. */
  identity: string;
  timeoutMs: number;
}

/** Why the worker `identity` is not polling `taskQueue` for workflow tasks, or undefined when it is. */
export async function notPolling({ client, namespace, taskQueue, identity, timeoutMs }: PollerCheck) {
  let pollers: temporal.api.taskqueue.v1.IPollerInfo[];
  try {
    ({ pollers = [] } = await client.withDeadline(Date.now() + timeoutMs, () =>
      client.workflowService.describeTaskQueue({
        namespace,
        taskQueue: { name: taskQueue },
        taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
      }),
    ));
  } catch (error) {
    return `Temporal does not answer: ${(error as Error).message}`;
  }
  if (pollers.some((poller) => poller.identity === identity)) return undefined;
  return `this worker (${identity}) is not among the ${pollers.length} poller(s) of task queue ${taskQueue} yet`;
}
