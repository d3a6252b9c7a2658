// Process entry point: the Temporal worker that runs playbook workflows and their activities.
import { existsSync, writeFileSync } from 'node:fs';
import { Client, Connection } from '@temporalio/client';
import {
  bundleWorkflowCode,
  DefaultLogger,
  NativeConnection,
  Runtime,
  Worker,
  type LogLevel,
  type WorkerOptions,
} from '@temporalio/worker';
import { createActivities } from '../activities';
import { ConfigError } from '../config/config-load';
import type { Config } from '../config/config-schema';
import { gatewayFrom } from '../gateway/gateway-from-config';
import type { GatewayKind } from '../gateway/gateway-knobs';
import {
  createKubernetesAdapter,
  unconfiguredKubernetes,
  type KubernetesAdapter,
} from '../kubernetes/kubernetes-client';
import type { Logger } from '../observability/logger';
import { EngineMetrics } from '../observability/engine-metrics';
import { serveMetrics } from '../observability/metrics-server';
import { RunStates } from '../observability/run-states';
import { TemporalMetrics } from '../observability/temporal-metrics';
import { LogNotifier, type Notifier } from '../notify/notifier';
import { SlackNotifier } from '../notify/slack/slack-notifier';
import { PrometheusClient } from '../prometheus/prometheus-client';
import { S3BucketLifecycle } from '../storage/lifecycle-client';
import { temporalConnectionOptions, temporalRunUrl } from '../temporal/connection';
import { notPolling } from '../temporal/readiness';
import { ensureSearchAttributes } from '../temporal/register-search-attributes';
import { BUDGET_WATCH_WORKFLOW_ID, type budgetWatch } from '../workflows/budget-watch';
import { createLimitsWorker } from './limits-worker';
import { ensureReviewSchedulesAtStart, reviewDepsFrom } from '../reviews/review-worker';
import { exitOnStartupError, startProcess } from './startup';

/**
 * Tries of one call to the gateway or Kubernetes before the activity sees the failure (and retries it), and the time
 * they may take together: no try starts that could end past it, so the call fails (and the activity retries, its
 * idempotency key answering a change already made) before the apply activity's 30 s start-to-close timeout would
 * cut it off mid-request.
 */
const WIRE_ATTEMPTS = 3;
const WIRE_BUDGET_MS = 25_000;
// finops_soar_runs{state}: seven visibility counts this often, per replica.
const RUN_STATES_EVERY_MS = 15_000;

const SDK_LEVEL: Record<string, LogLevel> = {
  fatal: 'ERROR',
  error: 'ERROR',
  warn: 'WARN',
  info: 'INFO',
  debug: 'DEBUG',
  trace: 'TRACE',
};

/** Slack when configured; else the log, and approvals through the CLI and the runs API. */
function notifierFrom(config: Config, logger: Logger): Notifier {
  if (!config.slack) return new LogNotifier(logger);
  const runUrl = temporalRunUrl(config.temporal);
  return new SlackNotifier(config.slack, logger, { runUrl: (run) => runUrl(run.workflowId) });
}

/** The configured cluster; without one, Kubernetes steps fail in their runs saying how to configure it. */
async function kubernetesFrom(
  { kubeconfig, context, server, token, timeout }: Config['kubernetes'],
  logger: Logger,
): Promise<KubernetesAdapter> {
  if (server && !token)
    throw new ConfigError(
      'kubernetes.token: kubernetes.server needs a bearer token. Set FINOPS_SOAR_KUBE_TOKEN or kubernetes.tokenFile.',
    );
  const apiServer = server && token ? { url: server, token } : undefined;
  if (kubeconfig || apiServer || process.env.KUBERNETES_SERVICE_HOST)
    return createKubernetesAdapter({
      kubeconfig,
      server: apiServer,
      context,
      requestTimeoutMs: timeout,
      attempts: WIRE_ATTEMPTS,
      budgetMs: WIRE_BUDGET_MS,
    });
  const reason =
    'set kubernetes.kubeconfig (FINOPS_SOAR_KUBECONFIG) or kubernetes.server and token, or run the worker in the cluster';
  logger.warn(`no Kubernetes cluster configured: playbook steps that scale or defer batch work will fail; ${reason}`);
  return unconfiguredKubernetes(reason);
}

const WORKFLOWS_PATH = require.resolve('../workflows');

const pollerBehavior = (pollers: number | 'auto'): NonNullable<WorkerOptions['workflowTaskPollerBehavior']> =>
  pollers === 'auto' ? { type: 'autoscaling' } : { type: 'simple-maximum', maximum: pollers };

/**
 * The worker's cache, slots and pollers (config worker.*; the defaults' reasons are at DEFAULT_WORKER_TUNING), and its
 * workflow code: a bundle built beforehand (--write-bundle, e.g. when the image is built), so a worker starts without
 * running webpack, or else bundled here, once, at start.
 */
function tuning(worker: Config['worker']): Partial<WorkerOptions> {
  return {
    maxCachedWorkflows: worker.maxCachedWorkflows,
    maxConcurrentWorkflowTaskExecutions: worker.workflowTaskSlots,
    maxConcurrentActivityTaskExecutions: worker.activityTaskSlots,
    maxConcurrentLocalActivityExecutions: worker.localActivitySlots,
    workflowTaskPollerBehavior: pollerBehavior(worker.workflowTaskPollers),
    activityTaskPollerBehavior: pollerBehavior(worker.activityTaskPollers),
  };
}

/** The pre-built bundle, or one bundled now: once, for the runs' worker and the limits' worker both. */
/** The bundler's report (webpack's module list, at info) is for debugging the bundle: it goes to debug. */
const bundlerLogger = (logger: Logger) =>
  new DefaultLogger('TRACE', ({ level, message, meta }) => {
    const method = level === 'ERROR' ? 'error' : level === 'WARN' ? 'warn' : 'debug';
    logger[method](meta ?? {}, message);
  });

async function workflowCode(
  worker: Config['worker'],
  logger: Logger,
): Promise<NonNullable<WorkerOptions['workflowBundle']>> {
  if (!worker.workflowBundle) {
    const { code } = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: bundlerLogger(logger) });
    logger.info({ bytes: code.length }, 'workflow bundle built');
    return { code };
  }
  if (!existsSync(worker.workflowBundle))
    throw new ConfigError(
      `worker.workflowBundle: ${worker.workflowBundle} does not exist. Build it with node dist/workers/worker.js --write-bundle ${worker.workflowBundle}, or unset it to bundle at start.`,
    );
  return { codePath: worker.workflowBundle };
}

/** `--write-bundle FILE`: writes the workflow bundle for worker.workflowBundle, with this @temporalio/worker. */
async function writeBundle(file: string): Promise<void> {
  const { code } = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH });
  writeFileSync(file, code);
  console.log(`worker: wrote the workflow bundle to ${file} (${code.length} bytes)`);
}

/** What gateway.token is for each gateway kind. */
const GATEWAY_CREDENTIAL: Record<GatewayKind, string> = {
  'control-api': 'the Control API token',
  litellm: "LiteLLM's master key",
  kong: "Kong's Admin API token, sent as the Kong-Admin-Token header",
};

async function main() {
  const bundleFlag = process.argv.indexOf('--write-bundle');
  if (bundleFlag >= 0) {
    const file = process.argv[bundleFlag + 1];
    if (!file)
      throw new ConfigError('--write-bundle needs the file to write, e.g. --write-bundle dist/workflow-bundle.js');
    return writeBundle(file);
  }
  const { config, logger } = startProcess('worker');
  if (!config.gateway.token)
    throw new ConfigError(
      `gateway.token: the worker needs the gateway's admin credential (${GATEWAY_CREDENTIAL[config.gateway.kind]}). Set FINOPS_SOAR_GATEWAY_TOKEN or gateway.tokenFile.`,
    );

  const metrics = new EngineMetrics();
  // The SDK's metrics, and the runs' own (workflows/playbook-run/run-metrics.ts), served beside the engine's.
  const temporalMetrics = new TemporalMetrics(metrics.registry);
  // Must run before anything creates the SDK runtime, once per process.
  Runtime.install({
    telemetryOptions: temporalMetrics.telemetry,
    logger: new DefaultLogger(SDK_LEVEL[config.log.level], ({ level, message, meta }) => {
      const method =
        level === 'TRACE'
          ? 'trace'
          : level === 'DEBUG'
            ? 'debug'
            : level === 'WARN'
              ? 'warn'
              : level === 'ERROR'
                ? 'error'
                : 'info';
      logger[method](meta ?? {}, message);
    }),
  });

  const connection = await NativeConnection.connect(temporalConnectionOptions(config.temporal));
  const created = await ensureSearchAttributes(connection, config.temporal.namespace);
  if (created.length > 0) logger.info({ created }, 'registered search attributes');

  // Activities ask the limits' workflows through a client of their own.
  const clientConnection = await Connection.connect(temporalConnectionOptions(config.temporal));
  const client = new Client({ connection: clientConnection, namespace: config.temporal.namespace });
  // Transient faults (5xx, 429, timeouts) tried again in the call, with jittered backoff and Retry-After honoured:
  // the activity's retries have neither jitter nor Retry-After (issue 13, test/faults).
  const gateway = gatewayFrom(
    { ...config.gateway, token: config.gateway.token },
    {
      attempts: WIRE_ATTEMPTS,
      budgetMs: WIRE_BUDGET_MS,
    },
  );
  const kubernetes = await kubernetesFrom(config.kubernetes, logger);
  temporalMetrics.start();
  const runStates = new RunStates(metrics.registry, client, logger.child({ component: 'metrics' }));
  runStates.start(RUN_STATES_EVERY_MS);
  // Ready once Temporal lists this worker among its task queue's pollers (it is created just below).
  const started: { worker?: Worker } = {};
  const metricsServer = await serveMetrics(metrics.registry, config.metrics.host, config.metrics.port, {
    beforeScrape: () => temporalMetrics.drain(),
    ready: async () => {
      const polling = started.worker;
      if (polling?.getState() !== 'RUNNING') return `the worker is ${polling?.getState().toLowerCase() ?? 'starting'}`;
      return notPolling({
        client,
        namespace: config.temporal.namespace,
        taskQueue: config.temporal.taskQueue,
        identity: polling.options.identity,
        timeoutMs: 2_000,
      });
    },
  });
  logger.info({ url: metricsServer.url }, 'engine metrics served');
  const workflowBundle = await workflowCode(config.worker, logger);
  // One notifier (one Slack client and group cache) for the runs, the CAPAs and the reviews.
  const notifier = notifierFrom(config, logger.child({ component: 'notifications' }));
  const activities = createActivities({
    gateway,
    kubernetes,
    prometheus: new PrometheusClient({
      baseUrl: config.prometheus.url,
      token: config.prometheus.token,
      timeoutMs: config.prometheus.timeout,
    }),
    finops: config.finops,
    storage: new S3BucketLifecycle(config.storage.s3),
    notifier,
    runUrl: temporalRunUrl(config.temporal),
    guardrails: {
      protectedRoutes: config.engine.protectedRoutes,
      sensitiveRoutes: config.engine.sensitiveRoutes,
      protectedTenants: config.engine.protectedTenants,
    },
    limits: {
      client,
      taskQueue: config.temporal.taskQueue,
      maxConcurrentRuns: config.engine.maxConcurrentRuns,
      maxActionsPerTargetPerHour: config.engine.maxActionsPerTargetPerHour,
      shards: config.engine.limitShards,
      flapMemory: {
        withinMs: config.engine.flapMemory.within,
        factor: config.engine.flapMemory.factor,
        maxFactor: config.engine.flapMemory.maxFactor,
      },
    },
    metrics,
    alertmanager: { urls: config.ingress.alertmanagerUrl ?? [], timeoutMs: config.ingress.temporalTimeout },
    opa: config.policy.opaUrl
      ? { url: config.policy.opaUrl, token: config.policy.opaToken, timeoutMs: config.policy.timeout }
      : undefined,
    reviews: reviewDepsFrom(config, {
      client,
      gateway,
      notifier,
    }),
  });
  const worker = await Worker.create({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    ...tuning(config.worker),
    workflowBundle,
    activities,
  });
  const limitsWorker = await createLimitsWorker({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    workflowBundle,
    activities,
  });
  if (Object.keys(config.finops.budgets).length > 0) {
    // One watch per namespace; a worker that finds it running leaves it be.
    await client.workflow.start<typeof budgetWatch>('budgetWatch', {
      workflowId: BUDGET_WATCH_WORKFLOW_ID,
      taskQueue: config.temporal.taskQueue,
      args: [{ everyMs: config.finops.watch.every, notifyTo: config.finops.watch.notify }],
      workflowIdConflictPolicy: 'USE_EXISTING',
    });
  }
  // After the workers exist, so a review a schedule starts right away has a worker to run on.
  await ensureReviewSchedulesAtStart(client, config, logger.child({ component: 'reviews' }));
  started.worker = worker;
  // The worker stops polling on SIGINT/SIGTERM and finishes the tasks in hand before run() resolves.
  await Promise.all([worker.run(), limitsWorker.run()]);
  runStates.stop();
  temporalMetrics.stop();
  metricsServer.server.close();
  await clientConnection.close();
  await connection.close();
}

main().catch((error: unknown) => exitOnStartupError('worker', error));
