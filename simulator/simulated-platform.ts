// The whole simulated inference platform the `npm start` stack acts on, one process, three APIs:
// the Gateway Control API with chat completions, incidents and /metrics (simulator.port); a
// Kubernetes API holding the GPU deployments, their HPAs and the batch jobs that can be deferred
// (simulator.kubernetesPort); and S3's lifecycle API for the platform's buckets (simulator.s3Port).
// The load model reads the gateway policies and the Deployments' replicas, so what a playbook
// changes shows up in the metrics.
import type { AddressInfo } from 'node:net';
import { reachableHost } from '../config/local-stack';
import type { Logger } from '../observability/logger';
import { registerPlatformApi } from './platform/api';
import { DEFAULT_CATALOG, type Catalog } from './platform/catalog';
import { PlatformModel } from './platform/model';
import { KubeApiServer } from './kubernetes-api';
import { PolicyStore } from './policy-store';
import { startS3LifecycleServer, type S3LifecycleServer } from './s3-lifecycle-api';
import { buildSimulatorApp } from './server';

/** The buckets the platform keeps request logs, prompt archives and eval data in. */
export const SIMULATOR_BUCKETS = ['llm-request-logs', 'llm-prompt-archive', 'llm-eval-datasets'];

/** Batch work that may wait while GPUs are short, labelled so the capacity playbooks can find it. */
export const DEFERRABLE_LABEL = { 'finops-soar.io/deferrable': 'true' };
const BATCH_CRONJOBS = [
  { name: 'nightly-eval', schedule: '0 1 * * *', deferrable: true },
  { name: 'embeddings-backfill', schedule: '*/30 * * * *', deferrable: true },
  { name: 'distill-finetune', schedule: '0 3 * * 6', deferrable: true },
  { name: 'billing-export', schedule: '5 * * * *', deferrable: false },
];

export interface SimulatedPlatformOptions {
  token: string;
  logger: Logger;
  host?: string;
  /** 0 for free ports (tests). */
  ports?: { gateway: number; kubernetes: number; s3: number };
  seed: number;
  startMs: number;
  catalog?: Catalog;
}

export interface SimulatedPlatform {
  urls: { gateway: string; kubernetes: string; s3: string };
  store: PolicyStore;
  kube: KubeApiServer;
  s3: S3LifecycleServer;
  model: PlatformModel;
  close(): Promise<void>;
}

/** One Deployment and HPA per catalog deployment (the HPA allows twice today's replicas), and the batch CronJobs. */
export function seedCluster(kube: KubeApiServer, catalog: Catalog): void {
  for (const { name, namespace, replicas, region, tier, gpusPerReplica } of catalog.deployments) {
    const labels = { app: name, region, tier };
    kube.addDeployment({ namespace, name, labels, replicas, gpusPerReplica });
    kube.addHpa({ namespace, name, labels, minReplicas: replicas, maxReplicas: replicas * 2 });
  }
  const namespace = catalog.deployments[0]!.namespace;
  for (const { name, schedule, deferrable } of BATCH_CRONJOBS) {
    kube.addCronJob({
      namespace,
      name,
      schedule,
      suspend: false,
      labels: { app: name, ...(deferrable ? DEFERRABLE_LABEL : {}) },
    });
  }
}

export async function startSimulatedPlatform({
  token,
  logger,
  host = '127.0.0.1',
  ports = { gateway: 0, kubernetes: 0, s3: 0 },
  seed,
  startMs,
  catalog = DEFAULT_CATALOG,
}: SimulatedPlatformOptions): Promise<SimulatedPlatform> {
  const store = new PolicyStore();
  // Whatever started is stopped again, also when a later part cannot start (a port in use).
  const stops: Array<() => Promise<void>> = [];
  const close = async () => {
    const results = await Promise.allSettled(
      stops
        .splice(0)
        .reverse()
        .map((stop) => stop()),
    );
    const failure = results.find((result) => result.status === 'rejected');
    if (failure) throw failure.reason;
  };
  try {
    const kube = await KubeApiServer.start({ token, host, port: ports.kubernetes });
    stops.push(() => kube.close());
    seedCluster(kube, catalog);
    const s3 = await startS3LifecycleServer(SIMULATOR_BUCKETS, { host, port: ports.s3 });
    stops.push(() => s3.close());
    const namespaceOf = new Map(catalog.deployments.map(({ name, namespace }) => [name, namespace]));
    const model = new PlatformModel({
      seed,
      startMs,
      catalog,
      controlPlane: {
        effectivePolicy: (route, tenant) => store.effectivePolicy(route, tenant),
        tenantQuota: (tenant) => store.tenantQuota(tenant),
        regionWeights: (route) => store.regionWeights(route),
        // A deployment deleted from the cluster serves nothing.
        replicas: (name) => Number(kube.get('deployments', namespaceOf.get(name) ?? '', name)?.spec.replicas ?? 0),
      },
    });
    const app = buildSimulatorApp({ token, logger, store });
    registerPlatformApi(app, { model, token });
    stops.push(() => app.close());
    await app.listen({ host, port: ports.gateway });
    const gatewayPort = (app.server.address() as AddressInfo).port;
    return {
      urls: { gateway: `http://${reachableHost(host)}:${gatewayPort}`, kubernetes: kube.url, s3: s3.url },
      store,
      kube,
      s3,
      model,
      close,
    };
  } catch (error) {
    await close().catch(() => undefined);
    throw error;
  }
}
