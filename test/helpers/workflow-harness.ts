// A real Temporal dev server, the gateway simulator, S3 lifecycle and Kubernetes API servers and a worker, plus
// starting runs exactly as the ingress does. One harness per workflow test file.
import { Writable } from 'node:stream';
import type { WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import pino from 'pino';
import type { Alert } from '../../alerts/alertmanager';
import { routeAlert, type RunDefaults } from '../../alerts/routing';
import type { AlertNotification } from '../../alerts/tracker';
import type { FinopsSettings } from '../../finops/finops-activities';
import type { Limits } from '../../activities/limits-activities';
import type { GatewayAdapter } from '../../gateway/adapter';
import type { EngineMetrics } from '../../observability/engine-metrics';
import type { Notifier } from '../../notify/notifier';
import { createKubernetesAdapter, type KubernetesAdapter } from '../../kubernetes/kubernetes-client';
import { createLimitsWorker } from '../../workers/limits-worker';
import { parsePlaybook } from '../../playbook/playbook-load';
import {
  alertNotificationSignal,
  statusQuery,
  type PlaybookRunInput,
  type RunState,
} from '../../workflows/playbook-run/definitions';
import type { playbookRun } from '../../workflows/playbook-run/playbook-run';
import { testActivities, testS3 } from './activities';
import { KubeApiServer } from '../../simulator/kubernetes-api';
import { startS3LifecycleServer, type S3LifecycleServer } from '../../simulator/s3-lifecycle-api';
import { startSimulator, type RunningSimulator } from './simulator';
import { startTemporal, workflowBundle } from './temporal';

export const TASK_QUEUE = 'playbook-run-test';
export const HARNESS_BUCKETS = ['llm-request-logs', 'llm-prompt-archive'];

export const notification = ({ fingerprint, status, startsAt, endsAt }: Alert): AlertNotification => ({
  fingerprint,
  status,
  startsAt,
  endsAt,
});

export interface Harness {
  env: TestWorkflowEnvironment;
  simulator: RunningSimulator;
  /** S3's lifecycle API, with the buckets in HARNESS_BUCKETS and no lifecycle configuration yet. */
  s3: S3LifecycleServer;
  /** A Kubernetes API server, empty: tests seed the deployments, HPAs and batch objects they act on. */
  kube: KubeApiServer;
  /** Every line the workers' notifier logged (notifications, war-rooms), parsed. */
  notifierLog: Array<Record<string, unknown>>;
  /**
   * Another worker, on its own task queue, with its own gateway client (default: the simulator's), limits or
   * Prometheus.
   */
  startWorker(
    taskQueue: string,
    options?: {
      gateway?: GatewayAdapter;
      /** Default: the harness's own Kubernetes API server. */
      kubernetes?: KubernetesAdapter;
      limits?: Partial<Limits>;
      prometheusUrl?: string;
      finops?: FinopsSettings;
      notifier?: Notifier;
      metrics?: EngineMetrics;
      opaUrl?: string;
      alertmanagerUrls?: string[];
    },
  ): Promise<void>;
  /** Starts (or signals) the run of the first playbook for `firing`; the others are there to escalate to. */
  fire(
    playbooks: string | string[],
    firing: Alert,
    options?: Partial<RunDefaults> & {
      taskQueue?: string;
      /** Shortens even the playbook's own cooldown, for the seed playbooks. */
      cooldownOverrideMs?: number;
      /** Shortens the playbook's escalation delay, for the seed playbooks. */
      escalationOverrideMs?: number;
      /** Shortens a staged rollback's windows and holds, and how often its guard measures, for the seed playbooks. */
      rollbackOverride?: { stabiliseMs: number; holdMs: number; maxHoldMs: number; guardEveryMs: number };
      /** Shortens every verify step's window and how often it measures, for the seed playbooks. */
      verifyOverride?: { withinMs: number; everyMs: number };
      historyLimit?: number;
    },
  ): Promise<WorkflowHandle<typeof playbookRun>>;
  stateOf(handle: WorkflowHandle, state: RunState): Promise<true | undefined>;
  changesFor(route: string, tenant: string | null): RunningSimulator['store']['changes'];
  close(): Promise<void>;
}

export async function startHarness(): Promise<Harness> {
  const env = await startTemporal();
  const simulator = await startSimulator();
  const s3 = await startS3LifecycleServer(HARNESS_BUCKETS);
  const kube = await KubeApiServer.start();
  const kubernetes = await createKubernetesAdapter({
    kubeconfig: await kube.writeKubeconfig(),
    requestTimeoutMs: 5_000,
  });
  const notifierLog: Array<Record<string, unknown>> = [];
  const logger = pino(
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        notifierLog.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
        done();
      },
    }),
  );
  const workers: Array<{ worker: Worker; running: Promise<void> }> = [];
  const startWorker: Harness['startWorker'] = async (
    taskQueue,
    { gateway = simulator.client, kubernetes: workerKubernetes = kubernetes, ...options } = {},
  ) => {
    const activities = testActivities({
      ...options,
      gateway,
      kubernetes: workerKubernetes,
      client: env.client,
      taskQueue,
      logger,
      storage: testS3(s3.url),
    });
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowBundle: await workflowBundle(),
      activities,
    });
    // The limits' workflows have a worker of their own, as in workers/worker.ts.
    const limitsWorker = await createLimitsWorker({
      connection: env.nativeConnection,
      taskQueue,
      workflowBundle: await workflowBundle(),
      activities,
    });
    workers.push({ worker, running: worker.run() }, { worker: limitsWorker, running: limitsWorker.run() });
  };
  await startWorker(TASK_QUEUE);

  return {
    env,
    simulator,
    s3,
    kube,
    notifierLog,
    startWorker,
    async fire(
      yamls,
      firing,
      {
        taskQueue = TASK_QUEUE,
        cooldownMs = 500,
        dryRun,
        staleAfterMs,
        cooldownOverrideMs,
        escalationOverrideMs,
        rollbackOverride,
        verifyOverride,
        historyLimit,
        gateway,
        capa,
      } = {},
    ) {
      const playbooks = [yamls].flat().map((yaml) => {
        const { playbook, problems } = parsePlaybook('test.yaml', yaml, { gateway });
        if (!playbook) throw new Error(problems.join('\n'));
        return playbook;
      });
      const decision = routeAlert(firing, playbooks, { cooldownMs, dryRun, staleAfterMs, gateway, capa }).find(
        (d) => d.outcome !== 'routed' || d.plan.playbook.name === playbooks[0]!.spec.name,
      );
      if (decision?.outcome !== 'routed') throw new Error(`not routed: ${JSON.stringify(decision)}`);
      if (cooldownOverrideMs !== undefined) decision.plan.cooldownMs = cooldownOverrideMs;
      if (escalationOverrideMs !== undefined && decision.plan.escalation)
        decision.plan.escalation.afterMs = escalationOverrideMs;
      const staged = decision.plan.rollback;
      if (rollbackOverride && staged) {
        const { guardEveryMs, ...windows } = rollbackOverride;
        Object.assign(staged, windows);
        if (staged.guard) staged.guard.everyMs = guardEveryMs;
      }
      if (verifyOverride) {
        const escalated = decision.plan.escalation?.plan.steps ?? [];
        for (const step of [...decision.plan.steps, ...escalated])
          if (step.kind === 'verify') Object.assign(step, verifyOverride);
      }
      const input: PlaybookRunInput = {
        plan: decision.plan,
        alert: { ...notification(firing), labels: firing.labels, annotations: firing.annotations },
        historyLimit,
      };
      return env.client.workflow.signalWithStart<typeof playbookRun, [AlertNotification]>('playbookRun', {
        workflowId: decision.workflowId,
        taskQueue,
        args: [input],
        signal: alertNotificationSignal,
        signalArgs: [notification(firing)],
      });
    },
    stateOf: async (handle, state) => (await handle.query(statusQuery)).state === state || undefined,
    changesFor: (route, tenant) => simulator.store.changes.filter((c) => c.route === route && c.tenant === tenant),
    async close() {
      for (const { worker } of workers) worker.shutdown();
      await Promise.all(workers.map(({ running }) => running));
      await simulator.close();
      await s3.close();
      await kube.close();
      await env.teardown();
    },
  };
}
