// The activities as the worker builds them, against a test gateway and Temporal client, with the
// test guardrails (protected: core, risk, fraud and tenant internal; sensitive: risk, summarize) and generous
// limits unless a test sets its own, logging notifications to `logger`.
import type { Client } from '@temporalio/client';
import { createActivities } from '../../activities';
import type { FinopsSettings } from '../../finops/finops-activities';
import type { Limits } from '../../activities/limits-activities';
import type { GatewayAdapter } from '../../gateway/adapter';
import { unconfiguredKubernetes, type KubernetesAdapter } from '../../kubernetes/kubernetes-client';
import type { Logger } from '../../observability/logger';
import { EngineMetrics } from '../../observability/engine-metrics';
import { LogNotifier, type Notifier } from '../../notify/notifier';
import { PrometheusClient } from '../../prometheus/prometheus-client';
import { S3BucketLifecycle, type BucketLifecycle } from '../../storage/lifecycle-client';
import { SIMULATOR_S3_CREDENTIALS } from '../../simulator/s3-lifecycle-api';

/** A platform budget of $5M a month, 10% headroom, $2.50 per GPU-hour. */
export const TEST_FINOPS: FinopsSettings = {
  budgets: { platform: { monthlyUsd: 5_000_000, selector: '' } },
  gpuHourlyUsd: 2.5,
  headroom: 0.1,
};

export const TEST_GUARDRAILS = {
  protectedRoutes: ['core', 'risk', 'fraud'],
  sensitiveRoutes: ['risk', 'summarize'],
  protectedTenants: ['internal'],
};

export interface TestActivityOptions {
  gateway: GatewayAdapter;
  client: Client;
  taskQueue: string;
  logger: Logger;
  limits?: Partial<Limits>;
  /** Default: a port nothing listens on, for tests whose playbooks read no metric. */
  prometheusUrl?: string;
  /** Default: no cluster, for tests whose playbooks scale nothing. */
  kubernetes?: KubernetesAdapter;
  /** Default: the log, through `logger`. */
  notifier?: Notifier;
  /** Default: TEST_FINOPS. */
  finops?: FinopsSettings;
  /** Default: S3 at a port nothing listens on, for tests whose playbooks touch no bucket. */
  storage?: BucketLifecycle;
  /** Default: a registry of the test's own. */
  metrics?: EngineMetrics;
  /** Default: no OPA, the built-in rules decide. */
  opaUrl?: string;
  /** Default: none, for runs that never ask Alertmanager (no staleAfterMs). */
  alertmanagerUrls?: string[];
}

export const testS3 = (endpoint: string) =>
  new S3BucketLifecycle({
    region: 'us-east-1',
    endpoint,
    forcePathStyle: true,
    credentials: SIMULATOR_S3_CREDENTIALS,
    maxAttempts: 1,
  });

export const testActivities = ({
  gateway,
  client,
  taskQueue,
  logger,
  limits,
  kubernetes = unconfiguredKubernetes('this test has no cluster'),
  prometheusUrl = 'http://127.0.0.1:9',
  storage = testS3('http://127.0.0.1:9'),
  finops = TEST_FINOPS,
  notifier = new LogNotifier(logger),
  metrics = new EngineMetrics(),
  opaUrl,
  alertmanagerUrls = [],
}: TestActivityOptions) =>
  createActivities({
    gateway,
    kubernetes,
    prometheus: new PrometheusClient({ baseUrl: prometheusUrl, timeoutMs: 2_000 }),
    storage,
    finops,
    notifier,
    runUrl: (workflowId) => `http://temporal-ui.test/namespaces/default/workflows/${encodeURIComponent(workflowId)}`,
    guardrails: TEST_GUARDRAILS,
    limits: {
      client,
      taskQueue,
      maxConcurrentRuns: 1_000,
      maxActionsPerTargetPerHour: 1_000,
      // The engine's defaults: a target that fires again within 2 h of its rollback flapped.
      flapMemory: { withinMs: 7_200_000, factor: 2, maxFactor: 8 },
      ...limits,
    },
    metrics,
    opa: opaUrl ? { url: opaUrl, timeoutMs: 2_000 } : undefined,
    alertmanager: { urls: alertmanagerUrls, timeoutMs: 2_000 },
  });
