// The whole stack for the fault matrix (issue 13): a Temporal dev server on a SQLite file, the real worker in a
// child process (so it can be killed), the ingress, the gateway simulator, the Kubernetes and S3 lifecycle servers
// and the Slack Web API server, all on loopback ports that stay the same across restarts. One stack per test file.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { transformFileSync } from '@swc/core';
import { Client, Connection, WorkflowNotFoundError } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import type { Alert } from '../../alerts/alertmanager';
import { buildIngressApp } from '../../ingress/app';
import { loadPlaybooks } from '../../playbook/playbook-load';
import { ServerFaults } from '../../simulator/faults';
import { KubeApiServer } from '../../simulator/kubernetes-api';
import { PolicyStore } from '../../simulator/policy-store';
import {
  SIMULATOR_S3_CREDENTIALS,
  startS3LifecycleServer,
  type S3LifecycleServer,
} from '../../simulator/s3-lifecycle-api';
import { buildSimulatorApp } from '../../simulator/server';
import { playbookRunId } from '../../workflows/ids';
import { statusQuery, type RunState, type RunStatus } from '../../workflows/playbook-run/definitions';
import type { playbookRun } from '../../workflows/playbook-run/playbook-run';
import { payload } from '../helpers/alerts';
import { INGRESS_TOKEN, TEST_APPROVERS, TEST_OPERATOR_TOKENS } from '../helpers/ingress';
import { supervise, type SupervisedChild } from '../helpers/output';
import { freePort } from '../helpers/ports';
import { GATEWAY_TOKEN, silentLogger } from '../helpers/simulator';
import { SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET, SlackApiServer } from '../helpers/slack-api-server';
import { installTestRuntime, spawnDevServer, type DevServer } from '../helpers/temporal';
import { waitFor } from '../helpers/wait';

const ROOT = join(__dirname, '..', '..');
export const TASK_QUEUE = 'fault-matrix';
export const SLACK_CHANNEL = 'C0FAULTS';
export const BUCKETS = ['fault-logs-a', 'fault-logs-b', 'fault-logs-c', 'fault-logs-d'];
/** Short client deadlines, so that an injected timeout costs a second, not the defaults' 5 to 10. */
export const CLIENT_TIMEOUT_MS = 1_000;

/**
 * The worker's code as JavaScript. Node 20 cannot run TypeScript, and the worker must run as its own process to be
 * killed. SWC (already the project's transpiler: jest runs these same sources through it) turns each file into
 * CommonJS in 0.2 s, where `tsc -p tsconfig.build.json` takes 15 s here and a loader such as tsx would be a new
 * dependency doing the same; types are checked by `npm test`'s tsc step. The output is laid out like dist/, with a
 * link to node_modules so that its requires resolve; `require.resolve('../workflows')` in the worker then finds
 * the workflows it bundles, exactly as with `npm run build`.
 */
function buildWorker(outDir: string): string {
  const skip = new Set(['node_modules', 'dist', 'test', 'bench', 'cli']);
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.name.startsWith('.') || (dir === ROOT && skip.has(entry.name))) continue;
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) {
        const { code } = transformFileSync(path, {
          jsc: { target: 'es2022', parser: { syntax: 'typescript' } },
          module: { type: 'commonjs' },
          sourceMaps: 'inline',
          swcrc: false,
        });
        const out = join(outDir, relative(ROOT, path).replace(/\.ts$/, '.js'));
        mkdirSync(dirname(out), { recursive: true });
        writeFileSync(out, code);
      }
    }
  };
  walk(ROOT);
  symlinkSync(join(ROOT, 'node_modules'), join(outDir, 'node_modules'), 'dir');
  return join(outDir, 'workers', 'worker.js');
}

export interface Restartable {
  start(): Promise<void>;
  /** Stops it (Temporal: with `signal`, default SIGTERM) and waits until it is gone. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export interface WorkerProcess {
  /** Starts the worker process and waits until Temporal lists it among the task queue's pollers (/readyz). */
  start(): Promise<void>;
  /** Sends `signal` and waits until the process is gone. */
  stop(signal: NodeJS.Signals): Promise<void>;
  readonly running: boolean;
  /** Whether its /readyz answers 200 (a worker shutting down answers 503). */
  ready(): Promise<boolean>;
  /** Why the last process ended (signal or exit code). */
  readonly gone: string | undefined;
  /** Its /metrics: the engine's, the runs' and the Temporal SDK's. */
  readonly metricsUrl: string;
}

export interface FaultStack {
  client: Client;
  temporal: Restartable & { address: string };
  worker: WorkerProcess;
  ingress: Restartable & { url: string };
  gateway: { url: string; store: PolicyStore; faults: ServerFaults };
  kube: KubeApiServer;
  s3: S3LifecycleServer;
  slack: SlackApiServer;
  /** Posts alerts to the ingress's webhook as Alertmanager does; answers its status. */
  post(alerts: Alert[]): Promise<number>;
  /** Approves a run's pending step over the runs API, as U0SRE. */
  approve(workflowId: string, stepId: string): Promise<void>;
  status(workflowId: string): Promise<RunStatus>;
  /** Waits until the run is in `state` (queried; needs a worker). */
  waitForState(workflowId: string, state: RunState, timeoutMs?: number): Promise<RunStatus>;
  /** The run's final state (waits for it). */
  result(workflowId: string): Promise<RunState>;
  /** How many executions Temporal holds for this workflow id: one run per alert is 1. */
  executions(workflowId: string): Promise<number>;
  close(): Promise<void>;
}

export const runId = playbookRunId;

export async function startFaultStack(): Promise<FaultStack> {
  installTestRuntime();
  const workDir = mkdtempSync(join(tmpdir(), 'finops-soar-faults-'));
  const closers: Array<() => Promise<unknown>> = [];
  const close = async () => {
    // Newest first; each is tried even when another fails, so no process outlives the file.
    const errors: unknown[] = [];
    for (const closer of closers.reverse()) await closer().catch((error: unknown) => errors.push(error));
    rmSync(workDir, { recursive: true, force: true });
    if (errors.length > 0) throw errors[0];
  };
  try {
    return await assemble(workDir, closers, close);
  } catch (error) {
    await close();
    throw error;
  }
}

async function assemble(
  workDir: string,
  closers: Array<() => Promise<unknown>>,
  close: () => Promise<void>,
): Promise<FaultStack> {
  const workerEntry = buildWorker(join(workDir, 'build'));

  // Temporal, restartable on its SQLite file and its port.
  const temporalPort = await freePort();
  const dbFilename = join(workDir, 'temporal.sqlite');
  let devServer: DevServer | undefined;
  const temporal = {
    address: `127.0.0.1:${temporalPort}`,
    async start() {
      devServer = await spawnDevServer({ port: temporalPort, dbFilename });
      const server = devServer;
      // Gone is an answer too (its output, in the test's logs, says why): waiting longer cannot help.
      const answered = await waitFor('the Temporal dev server to answer', async () => {
        if (server.child.gone) return server.child.gone;
        const probe = await Connection.connect({ address: temporal.address, connectTimeout: 1_000 });
        try {
          await probe.workflowService.getSystemInfo({});
          return true;
        } finally {
          await probe.close();
        }
      });
      if (answered !== true) throw new Error(`the Temporal dev server stopped before it answered: ${answered}`);
    },
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      await devServer?.child.stop(signal);
      devServer = undefined;
    },
  };
  await temporal.start();
  closers.push(() => temporal.stop());
  const connection = await Connection.connect({ address: temporal.address });
  closers.push(() => connection.close());
  const client = new Client({ connection });

  // The gateway simulator, Kubernetes, S3 and Slack.
  const store = new PolicyStore();
  const gatewayFaults = new ServerFaults();
  const gatewayApp = buildSimulatorApp({ token: GATEWAY_TOKEN, logger: silentLogger(), store, faults: gatewayFaults });
  await gatewayApp.listen({ host: '127.0.0.1', port: 0 });
  // Held answers and slow faults are let go first, or closing would wait for them.
  closers.push(async () => {
    gatewayFaults.hold.release();
    gatewayFaults.rate = undefined;
    await gatewayApp.close();
  });
  const gatewayUrl = `http://127.0.0.1:${(gatewayApp.server.address() as AddressInfo).port}`;
  const kube = await KubeApiServer.start();
  closers.push(() => {
    kube.rateFaults.hold.release();
    return kube.close();
  });
  const s3 = await startS3LifecycleServer(BUCKETS);
  closers.push(() => s3.close());
  const slack = new SlackApiServer();
  await slack.start();
  slack.addChannel({ id: SLACK_CHANNEL, name: 'fault-matrix' });
  closers.push(() => slack.close());

  // The ingress, restartable on its port.
  const ingressPort = await freePort();
  let ingressApp: FastifyInstance | undefined;
  const ingress = {
    url: `http://127.0.0.1:${ingressPort}`,
    async start() {
      const app = buildIngressApp({
        client,
        taskQueue: TASK_QUEUE,
        playbooks: loadPlaybooks(join(__dirname, 'playbooks')),
        credentials: { token: INGRESS_TOKEN },
        runDefaults: { cooldownMs: 500 },
        temporalTimeoutMs: 2_000,
        maxInFlight: 64,
        approvers: TEST_APPROVERS,
        operatorTokens: TEST_OPERATOR_TOKENS,
        logger: silentLogger(),
      });
      await app.listen({ host: '127.0.0.1', port: ingressPort });
      ingressApp = app;
    },
    async stop() {
      await ingressApp?.close();
      ingressApp = undefined;
    },
  };
  await ingress.start();
  closers.push(() => ingress.stop());

  // The worker's configuration: the real file format, every address a loopback one.
  const metricsPort = await freePort();
  const kubeconfig = await kube.writeKubeconfig();
  const configFile = join(workDir, 'finops-soar.yaml');
  writeFileSync(
    configFile,
    [
      `temporal: { address: "${temporal.address}", taskQueue: ${TASK_QUEUE} }`,
      `gateway: { url: "${gatewayUrl}", timeout: ${CLIENT_TIMEOUT_MS}ms }`,
      `kubernetes: { kubeconfig: "${kubeconfig}", timeout: ${CLIENT_TIMEOUT_MS}ms }`,
      `storage: { s3: { region: us-east-1, endpoint: "${s3.url}", forcePathStyle: true } }`,
      `slack: { apiUrl: "${slack.apiUrl}", defaultChannel: ${SLACK_CHANNEL}, timeout: ${CLIENT_TIMEOUT_MS}ms }`,
      `prometheus: { url: "http://127.0.0.1:1" }`,
      `metrics: { host: 127.0.0.1, port: ${metricsPort} }`,
      `log: { level: info }`,
      '',
    ].join('\n'),
  );
  let child: SupervisedChild | undefined;
  let lastGone: string | undefined;
  const worker: WorkerProcess = {
    get running() {
      return child !== undefined && child.gone === undefined;
    },
    ready: async () => (await fetch(`http://127.0.0.1:${metricsPort}/readyz`)).ok,
    metricsUrl: `http://127.0.0.1:${metricsPort}/metrics`,
    get gone() {
      return child?.gone ?? lastGone;
    },
    async start() {
      const process_ = spawn(process.execPath, [workerEntry], {
        cwd: workDir,
        stdio: ['ignore', 'pipe', 'pipe'],
        // Only what the worker needs: nothing of this process's environment leaks into its configuration.
        env: {
          PATH: process.env.PATH,
          FINOPS_SOAR_CONFIG: configFile,
          FINOPS_SOAR_GATEWAY_TOKEN: GATEWAY_TOKEN,
          FINOPS_SOAR_SLACK_TOKEN: SLACK_BOT_TOKEN,
          FINOPS_SOAR_SLACK_SIGNING_SECRET: SLACK_SIGNING_SECRET,
          AWS_ACCESS_KEY_ID: SIMULATOR_S3_CREDENTIALS.accessKeyId,
          AWS_SECRET_ACCESS_KEY: SIMULATOR_S3_CREDENTIALS.secretAccessKey,
        },
      });
      const started = supervise('worker', process_);
      child = started;
      // The worker gone is an answer too: its output (in the test's logs) says why, and waiting longer cannot help.
      const ready = await waitFor(
        'the worker to poll its task queue (/readyz)',
        async () => started.gone ?? ((await fetch(`http://127.0.0.1:${metricsPort}/readyz`)).ok || undefined),
        60_000,
      );
      if (ready !== true) throw new Error(`the worker exited before it was ready: ${ready}`);
    },
    async stop(signal) {
      const stopping = child;
      await stopping?.stop(signal);
      lastGone = stopping?.gone;
      child = undefined;
    },
  };
  await worker.start();
  closers.push(() => worker.stop('SIGKILL'));

  const handle = (workflowId: string) => client.workflow.getHandle<typeof playbookRun>(workflowId);
  const status = (workflowId: string) => handle(workflowId).query(statusQuery);
  return {
    client,
    temporal,
    worker,
    ingress,
    gateway: { url: gatewayUrl, store, faults: gatewayFaults },
    kube,
    s3,
    slack,
    async post(alerts) {
      const response = await fetch(`${ingress.url}/alerts/alertmanager`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${INGRESS_TOKEN}`, 'Content-Type': 'application/json' },
        body: JSON.stringify(payload(alerts)),
      });
      return response.status;
    },
    async approve(workflowId, stepId) {
      // As a person clicks again: a 5xx (the run's worker just restarted, its task not yet picked up) is retried.
      const answer = await waitFor(`the decision on ${workflowId} to be taken`, async () => {
        const response = await fetch(`${ingress.url}/v1/runs/${encodeURIComponent(workflowId)}/decide`, {
          method: 'POST',
          headers: {
            Authorization: `Bearer ${INGRESS_TOKEN}`,
            'X-Operator-Token': TEST_OPERATOR_TOKENS.U0SRE!,
            'Content-Type': 'application/json',
          },
          body: JSON.stringify({ stepId, approve: true, by: 'U0SRE', reason: 'fault matrix' }),
        });
        return response.status >= 500 ? undefined : { status: response.status, body: await response.text() };
      });
      if (answer.status !== 200) throw new Error(`the decision answered ${answer.status}: ${answer.body}`);
    },
    status,
    waitForState: (workflowId, state, timeoutMs = 90_000) =>
      waitFor(
        `${workflowId} to be ${state}`,
        async () => {
          const current = await status(workflowId);
          return current.state === state ? current : undefined;
        },
        timeoutMs,
      ),
    result: async (workflowId) => (await handle(workflowId).result()).state,
    async executions(workflowId) {
      let count = 0;
      const executions = client.workflow.list({ query: `WorkflowId = '${workflowId}'` });
      for await (const execution of executions) if (execution.workflowId === workflowId) count += 1;
      if (count === 0) throw new WorkflowNotFoundError(`no run ${workflowId}`, workflowId, undefined);
      return count;
    },
    close,
  };
}
