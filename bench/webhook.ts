// Webhook latency: how long Alertmanager waits for a 2xx, measured against the floor that
// Temporal itself sets (a bare signalWithStart from the same process) in the same run; and
// mitigation latency: from the webhook to the change at the gateway, alone and in a burst.
//   npm run bench
// Everything runs on this machine: a Temporal dev server, the worker, the simulator, the ingress.
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { createActivities } from '../activities';
import { EngineMetrics } from '../observability/engine-metrics';
import { unconfiguredKubernetes } from '../kubernetes/kubernetes-client';
import { PrometheusClient } from '../prometheus/prometheus-client';
import { S3BucketLifecycle } from '../storage/lifecycle-client';
import type { Alert } from '../alerts/alertmanager';
import { routeAlerts } from '../alerts/routing';
import type { AlertNotification } from '../alerts/tracker';
import { ControlApiClient } from '../gateway/control-api-client';
import { LogNotifier } from '../notify/notifier';
import { buildIngressApp } from '../ingress/app';
import { loadPlaybooks } from '../playbook/playbook-load';
import { PolicyStore } from '../simulator/policy-store';
import { buildSimulatorApp } from '../simulator/server';
import { alertNotificationSignal } from '../workflows/playbook-run/definitions';
import { SEARCH_ATTRIBUTES } from '../workflows/search-attributes';

const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 100);
const BURST = 50;
const CONCURRENCY = 20;
const TOKEN = 'bench-ingress-token-0123456789';
const TASK_QUEUE = 'bench';
const UNSERVED_QUEUE = 'bench-unserved';

interface Row {
  name: string;
  samples: number[];
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function timed(run: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  await run();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

function firingAlert(tenant: string): Alert {
  const labels = {
    alertname: 'LLMInputTokensPerRequestHigh',
    severity: 'S2',
    route: 'chat',
    tenant,
    model: 'llama-3-70b',
  };
  return {
    status: 'firing',
    labels,
    annotations: {},
    startsAt: '2026-11-28T10:00:00Z',
    endsAt: '0001-01-01T00:00:00Z',
    generatorURL: '',
    fingerprint: `fp-${tenant}`,
  };
}

function body(alert: Alert): string {
  return JSON.stringify({
    version: '4',
    groupKey: 'bench',
    truncatedAlerts: 0,
    status: 'firing',
    receiver: 'finops-soar',
    groupLabels: {},
    commonLabels: alert.labels,
    commonAnnotations: {},
    externalURL: 'http://alertmanager.bench:9093',
    alerts: [alert],
  });
}

function printTable(title: string, rows: Row[]): void {
  const median = (samples: number[]) =>
    percentile(
      [...samples].sort((a, b) => a - b),
      50,
    );
  const baseMedian = median(rows[0]!.samples);
  console.log(`\n${title}, ${new Date().toISOString().slice(0, 10)}, node ${process.version}\n`);
  console.log('| case | median | p99 | median vs baseline |');
  console.log('| --- | ---: | ---: | ---: |');
  for (const { name, samples } of rows) {
    const sorted = [...samples].sort((a, b) => a - b);
    console.log(
      `| ${name} | ${percentile(sorted, 50).toFixed(2)} | ${percentile(sorted, 99).toFixed(2)} | ${(median(samples) / baseMedian).toFixed(2)}× |`,
    );
  }
}

async function main() {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const cli = process.env.TEMPORAL_CLI_PATH;
  if (!cli) throw new Error('TEMPORAL_CLI_PATH is not set: run `npm run bench`');
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: cli },
      ip: '127.0.0.1',
      searchAttributes: Object.values(SEARCH_ATTRIBUTES),
      extraArgs: ['--log-level', 'error'],
    },
  });
  const logger = pino({ level: 'silent' });
  // The one-step playbook of the tests: this measures the engine, not a playbook.
  const playbooks = loadPlaybooks(join(__dirname, '..', '..', 'test', 'fixtures', 'playbooks'));
  const ingresses: FastifyInstance[] = [];
  const webhookFor = async (taskQueue: string) => {
    const ingress = buildIngressApp({
      client: env.client,
      taskQueue,
      playbooks,
      credentials: { token: TOKEN },
      runDefaults: { cooldownMs: 3_600_000 },
      temporalTimeoutMs: 10_000,
      maxInFlight: 256,
      // This measures the engine, not its shedding: rates above any burst here.
      rateLimits: { webhook: 1e6, runs: 1e6, slack: 1e6, probes: 1e6 },
      approvers: {},
      operatorTokens: {},
      logger,
    });
    ingresses.push(ingress);
    await ingress.listen({ host: '127.0.0.1', port: 0 });
    const url = `http://127.0.0.1:${(ingress.server.address() as AddressInfo).port}/alerts/alertmanager`;
    return (alert: Alert) =>
      fetch(url, {
        method: 'POST',
        headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' },
        body: body(alert),
      }).then(async (response) => {
        if (response.status !== 200) throw new Error(`webhook answered ${response.status}: ${await response.text()}`);
      });
  };

  // 1. What Alertmanager waits for: no worker serves this task queue, so the runs it starts wait
  //    and nothing competes with the ingress and the server.
  const post = await webhookFor(UNSERVED_QUEUE);
  const signalWithStart = async (alert: Alert) => {
    const [decision] = routeAlerts([alert], playbooks, { cooldownMs: 3_600_000 });
    if (decision?.outcome !== 'routed') throw new Error('not routed');
    const notification: AlertNotification = {
      fingerprint: alert.fingerprint,
      status: 'firing',
      startsAt: alert.startsAt,
      endsAt: alert.endsAt,
    };
    await env.client.workflow.signalWithStart('playbookRun', {
      workflowId: `baseline/${decision.workflowId}`,
      taskQueue: UNSERVED_QUEUE,
      args: [{ plan: decision.plan, alert: { ...notification, labels: alert.labels, annotations: {} } }],
      signal: alertNotificationSignal,
      signalArgs: [notification],
    });
  };
  const rows: Row[] = [];
  const measure = async (name: string, run: (i: number) => Promise<unknown>) => {
    for (let i = 0; i < 10; i++) await run(-1 - i); // warm-up
    const samples: number[] = [];
    for (let i = 0; i < SAMPLES; i++) samples.push(await timed(() => run(i)));
    rows.push({ name, samples });
  };
  await measure('baseline: signalWithStart, new run', (i) => signalWithStart(firingAlert(`base-${i}`)));
  await measure('webhook: firing, new run', (i) => post(firingAlert(`new-${i}`)));
  await measure('webhook: repeat of a running alert', () => post(firingAlert('repeat')));
  const concurrent: number[] = [];
  for (let round = 0; round < Math.max(1, SAMPLES / CONCURRENCY); round++) {
    concurrent.push(
      ...(await Promise.all(
        Array.from({ length: CONCURRENCY }, (_, i) => timed(() => post(firingAlert(`burst-${round}-${i % 4}`)))),
      )),
    );
  }
  rows.push({ name: `webhook: ${CONCURRENCY} concurrent deliveries`, samples: concurrent });

  // 2. Mitigation: from the webhook to the change at the gateway, through the worker, the limits
  //    and the Control API. Baseline: one alert at a time; then a burst of distinct alerts.
  const store = new PolicyStore();
  const simulator = buildSimulatorApp({ token: TOKEN, logger, store });
  await simulator.listen({ host: '127.0.0.1', port: 0 });
  const gateway = new ControlApiClient({
    baseUrl: `http://127.0.0.1:${(simulator.server.address() as AddressInfo).port}`,
    token: TOKEN,
    timeoutMs: 5_000,
  });
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue: TASK_QUEUE,
    workflowsPath: require.resolve('../workflows'),
    activities: createActivities({
      gateway,
      kubernetes: unconfiguredKubernetes('the benchmark scales nothing'),
      // The benchmark's playbook reads no metric and touches no bucket: nothing listens there.
      prometheus: new PrometheusClient({ baseUrl: 'http://127.0.0.1:9', timeoutMs: 1_000 }),
      finops: { budgets: {}, gpuHourlyUsd: 2.5, headroom: 0.1 },
      storage: new S3BucketLifecycle({ region: 'us-east-1', endpoint: 'http://127.0.0.1:9', forcePathStyle: true }),
      notifier: new LogNotifier(logger),
      runUrl: (workflowId) => `http://127.0.0.1:8233/namespaces/default/workflows/${encodeURIComponent(workflowId)}`,
      guardrails: { protectedRoutes: [], sensitiveRoutes: [], protectedTenants: [] },
      limits: {
        client: env.client,
        taskQueue: TASK_QUEUE,
        maxConcurrentRuns: 100_000,
        maxActionsPerTargetPerHour: 100,
      },
      metrics: new EngineMetrics(),
    }),
  });
  const workerRunning = worker.run();
  const postServed = await webhookFor(TASK_QUEUE);
  const changedAt = (tenant: string) => store.changes.find((change) => change.tenant === tenant)?.at;
  const untilChanged = async (tenants: string[], start: number) => {
    const latencies: number[] = [];
    for (const tenant of tenants) {
      let at = changedAt(tenant);
      while (!at) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        at = changedAt(tenant);
      }
      latencies.push(Date.parse(at) - start);
    }
    return latencies;
  };
  const mitigation: Row[] = [
    { name: 'one alert at a time (baseline)', samples: [] },
    { name: `${BURST} distinct alerts at once`, samples: [] },
  ];
  for (let i = 0; i < 20; i++) {
    const start = Date.now();
    await postServed(firingAlert(`single-${i}`));
    mitigation[0]!.samples.push(...(await untilChanged([`single-${i}`], start)));
  }
  const burstTenants = Array.from({ length: BURST }, (_, i) => `burst-mitigation-${i}`);
  const burstStart = Date.now();
  await Promise.all(burstTenants.map((tenant) => postServed(firingAlert(tenant))));
  mitigation[1]!.samples.push(...(await untilChanged(burstTenants, burstStart)));

  printTable(`Webhook latency (ms), ${SAMPLES} samples per row`, rows);
  printTable('Mitigation latency (ms): webhook to the change at the gateway', mitigation);

  await Promise.all(ingresses.map((ingress) => ingress.close()));
  worker.shutdown();
  await workerRunning;
  await simulator.close();
  await env.teardown();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
