// Row 4, the storm: its ingest through the ingress, the same number of bare signalWithStart calls
// from one process (the rate Temporal allows at 32 in flight), then whether every target is acted on
// or visibly waiting within 60 s, and the accounting of every alert against the runs.
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { routeAlerts } from '../alerts/routing';
import { notificationOf, runInput } from '../ingress/run-dispatch';
import { loadPlaybooks } from '../playbook/playbook-load';
import { alertNotificationSignal } from '../workflows/playbook-run/definitions';
import { pool, post } from './alerts';
import { rssMiB, type Stack } from './stack';
import type { StormPlan } from './storm-plan';

export const IN_FLIGHT = 32;
export const SETTLE_MS = 60_000;

export interface StormIngest {
  attempts: number[];
  refused: number;
  alertsPerSecond: number;
  /** performance.now() of the first POST that carried each tenant, and of the storm's start and end. */
  firstSent: Map<string, number>;
  start: number;
  end: number;
  ingressRss: { before: number; peak: number };
  workerRssPeak: number;
}

/** The raw rate: each alert of the storm as one signalWithStart, to a task queue no worker serves. */
export async function rawSignalWithStart(stack: Stack, plan: StormPlan) {
  const playbooks = loadPlaybooks(join(__dirname, '..', '..', 'test', 'fixtures', 'playbooks'));
  const calls = plan.notifications.flatMap(({ alerts }) =>
    alerts.map((alert) => {
      const [decision] = routeAlerts([alert], playbooks, { cooldownMs: 300_000 });
      if (decision?.outcome !== 'routed') throw new Error(`the bench's alert was not routed: ${decision?.outcome}`);
      return {
        workflowId: `raw/${decision.workflowId}`,
        args: [runInput(decision.plan, alert)] as const,
        signalArgs: [notificationOf(alert)] as const,
      };
    }),
  );
  const latencies: number[] = [];
  const start = performance.now();
  await pool(calls, IN_FLIGHT, async ({ workflowId, args, signalArgs }) => {
    const begin = performance.now();
    await stack.env.client.workflow.signalWithStart('playbookRun', {
      workflowId,
      taskQueue: 'bench-raw-unserved',
      args: [...args],
      signal: alertNotificationSignal,
      signalArgs: [...signalArgs],
    });
    latencies.push(performance.now() - begin);
  });
  return { latencies, callsPerSecond: calls.length / ((performance.now() - start) / 1000) };
}

export async function sendStorm(stack: Stack, plan: StormPlan): Promise<StormIngest> {
  const answered = plan.notifications.map(() => {
    let done!: () => void;
    const promise = new Promise<void>((resolve) => (done = resolve));
    return { promise, done };
  });
  const firstSent = new Map<string, number>();
  const ingest: StormIngest = {
    attempts: [],
    refused: 0,
    alertsPerSecond: 0,
    firstSent,
    start: 0,
    end: 0,
    ingressRss: { before: rssMiB(stack.ingress.pid!), peak: 0 },
    workerRssPeak: 0,
  };
  const sampler = setInterval(() => {
    ingest.ingressRss.peak = Math.max(ingest.ingressRss.peak, rssMiB(stack.ingress.pid!));
    ingest.workerRssPeak = Math.max(ingest.workerRssPeak, rssMiB(stack.worker.pid!));
  }, 250);
  ingest.start = performance.now();
  await pool(plan.notifications, IN_FLIGHT, async ({ alerts, after }, index) => {
    await Promise.all(after.map((earlier) => answered[earlier]!.promise));
    const now = performance.now();
    for (const { labels } of alerts) if (!firstSent.has(labels.tenant!)) firstSent.set(labels.tenant!, now);
    const delivery = await post(stack.webhookUrl, alerts);
    ingest.attempts.push(...delivery.attempts);
    ingest.refused += delivery.refused;
    answered[index]!.done();
  });
  ingest.end = performance.now();
  clearInterval(sampler);
  ingest.alertsPerSecond = plan.deliveries / ((ingest.end - ingest.start) / 1000);
  return ingest;
}

const tenantOf = (workflowId: string) => /tenant=([^,]+)$/.exec(workflowId)?.[1];

/** Until every target is acted on (a change at the gateway) or waiting (FinopsState), or 60 s after the storm. */
export async function settle(stack: Stack, plan: StormPlan, ingest: StormIngest) {
  const deadline = ingest.end + SETTLE_MS;
  let waiting = new Set<string>();
  let coveredAt: number | null = null;
  while (performance.now() < deadline) {
    waiting = new Set<string>();
    for await (const run of stack.env.client.workflow.list({
      query: `WorkflowType = 'playbookRun' AND FinopsState = 'waiting' AND ExecutionStatus = 'Running'`,
    })) {
      const tenant = tenantOf(run.workflowId);
      if (tenant?.startsWith('storm-')) waiting.add(tenant);
    }
    if (plan.tenants.every((tenant) => stack.store.firstChange.has(tenant) || waiting.has(tenant))) {
      coveredAt = performance.now();
      break;
    }
    await sleep(1_000);
  }
  const acted = new Set(plan.tenants.filter((tenant) => stack.store.firstChange.has(tenant)));
  return { coveredAt, acted, waitingBySearchAttribute: waiting.size };
}
