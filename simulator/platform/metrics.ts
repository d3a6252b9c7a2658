// The platform's Prometheus metrics under the seed's names and labels (DESIGN.md "Metric names").
// Every value is read from the model at scrape time, so the counters are the ground truth itself,
// not a second tally that could drift from it. Its own registry: nothing leaks into prom-client's
// global one, and two models in one process never share series.
import { Counter, Gauge, Registry, type Metric } from 'prom-client';
import { LATENCY_BUCKETS_SECONDS, queueWaitSeconds, type PlatformModel } from './model';
import { EGRESS_USD_PER_GB } from './storage';

/** The serving engine preallocates this share of GPU memory; the KV cache fills it as the batch grows. */
const GPU_MEMORY_CEILING = 0.92;

/** One labelled series of a histogram whose buckets are already counted. */
interface CountedSeries {
  labels: Record<string, string>;
  /** Not cumulative: one count per bound, then the count above the largest bound. */
  bucketCounts: readonly number[];
  sum: number;
}

/**
 * A histogram whose observations the model has already bucketed. prom-client's Histogram can only
 * observe one value at a time, and replaying every request the model served on each scrape would
 * cost a day's traffic per scrape; the registry serves any metric whose get() answers its samples,
 * which is how prom-client's own cluster aggregator registers merged histograms.
 */
function registerCountedHistogram(
  registry: Registry,
  name: string,
  help: string,
  bounds: readonly number[],
  series: () => CountedSeries[],
): void {
  const read = () => ({
    name,
    help,
    type: 'histogram',
    aggregator: 'sum',
    values: series().flatMap(({ labels, bucketCounts, sum }) => {
      let cumulative = 0;
      const buckets = bounds.map((bound, index) => ({
        metricName: `${name}_bucket`,
        labels: { ...labels, le: bound },
        value: (cumulative += bucketCounts[index]!),
      }));
      const count = cumulative + bucketCounts[bounds.length]!;
      return [
        ...buckets,
        { metricName: `${name}_bucket`, labels: { ...labels, le: '+Inf' }, value: count },
        { metricName: `${name}_sum`, labels, value: sum },
        { metricName: `${name}_count`, labels, value: count },
      ];
    }),
  });
  // resetMetrics() resets every registered metric; the counts belong to the model, so there is nothing to reset here.
  registry.registerMetric({ name, get: () => Promise.resolve(read()), reset: () => {} } as unknown as Metric);
}

export function createPlatformMetrics(model: PlatformModel): Registry {
  const registry = new Registry();
  const env = model.env;
  const servedLabels = ['tenant', 'route', 'model', 'model_version', 'region', 'env'] as const;
  const deploymentLabels = ['deployment', 'namespace', 'model', 'model_version', 'region', 'zone', 'env'] as const;

  new Counter({
    name: 'inference_cost_usd_total',
    help: 'Inference spend in US dollars; cache hits cost nothing.',
    labelNames: servedLabels,
    registers: [registry],
    collect() {
      this.reset();
      for (const s of model.groundTruth().served) {
        this.inc(
          { tenant: s.tenant, route: s.route, model: s.model, model_version: s.modelVersion, region: s.region, env },
          s.costUsd,
        );
      }
    },
  });

  new Counter({
    name: 'llm_tokens_total',
    help: 'Tokens of served requests (cache hits included), after the route policy cut or compressed the prompt.',
    labelNames: [...servedLabels, 'type'],
    registers: [registry],
    collect() {
      this.reset();
      for (const s of model.groundTruth().served) {
        const labels = {
          tenant: s.tenant,
          route: s.route,
          model: s.model,
          model_version: s.modelVersion,
          region: s.region,
          env,
        };
        this.inc({ ...labels, type: 'input' }, s.inputTokens);
        this.inc({ ...labels, type: 'output' }, s.outputTokens);
      }
    },
  });

  new Counter({
    name: 'http_requests_total',
    help: 'Requests the gateway answered, by status code: 200 served, 429 throttled or over quota, 503 breaker open or no model.',
    labelNames: ['tenant', 'route', 'region', 'code', 'env'],
    registers: [registry],
    collect() {
      this.reset();
      const truth = model.groundTruth();
      for (const s of truth.served)
        this.inc({ tenant: s.tenant, route: s.route, region: s.region, code: '200', env }, s.requests);
      for (const r of truth.rejected)
        this.inc({ tenant: r.tenant, route: r.route, region: r.region, code: String(r.status), env }, r.requests);
    },
  });

  new Gauge({
    name: 'llm_tokens_baseline',
    help: "The route's usual input tokens per request, as the seed defines llm_tokens_baseline (no incident, no policy change).",
    labelNames: ['route', 'env'],
    registers: [registry],
    collect() {
      this.reset();
      for (const b of model.tokenBaselines()) this.set({ route: b.route, env }, b.inputPerRequest);
    },
  });

  new Gauge({
    name: 'llm_cache_hit_ratio',
    help: 'Share of requests answered from the response cache (0-1).',
    labelNames: ['tenant', 'route', 'env'],
    registers: [registry],
    collect() {
      this.reset();
      for (const c of model.cacheHitRatios()) this.set({ tenant: c.tenant, route: c.route, env }, c.ratio);
    },
  });

  registerCountedHistogram(
    registry,
    'llm_request_duration_seconds',
    "Time from the gateway receiving a served request to its last token: cache hits, time to first token and decoding by model, the wait behind the deployment's queue. Rejected requests are not observed.",
    LATENCY_BUCKETS_SECONDS,
    () =>
      model.groundTruth().served.map((s) => ({
        labels: {
          tenant: s.tenant,
          route: s.route,
          model: s.model,
          model_version: s.modelVersion,
          region: s.region,
          env,
        },
        bucketCounts: s.latencyBucketCounts,
        sum: s.latencySumSeconds,
      })),
  );

  new Gauge({
    name: 'llm_model_info',
    help: 'Always 1: the tier each model serves, to join onto per-model series with `* on (model) group_left (tier) llm_model_info`.',
    labelNames: ['model', 'model_version', 'tier', 'env'],
    registers: [registry],
    collect() {
      this.reset();
      for (const m of model.catalog.models) this.set({ model: m.name, model_version: m.version, tier: m.tier, env }, 1);
    },
  });

  const perDeployment = (
    name: string,
    help: string,
    value: (d: ReturnType<PlatformModel['deploymentStates']>[number]) => number,
  ) =>
    new Gauge({
      name,
      help,
      labelNames: deploymentLabels,
      registers: [registry],
      collect() {
        this.reset();
        for (const d of model.deploymentStates()) {
          this.set(
            {
              deployment: d.name,
              namespace: d.namespace,
              model: d.model,
              model_version: d.modelVersion,
              region: d.region,
              zone: d.zone,
              env,
            },
            value(d),
          );
        }
      },
    });
  perDeployment(
    'gpu_utilization',
    "Share of the deployment's GPU capacity in use over the last tick (0-1).",
    (d) => d.utilization,
  );
  perDeployment('inference_queue_depth', 'Requests waiting for a GPU on the deployment.', (d) => d.queueDepth);
  perDeployment(
    'inference_queue_backlog_seconds',
    "How long the deployment's queue takes to drain at its current capacity (queue depth / capacity, Little's law), capped at 60 s: the wait a new request sees.",
    (d) => (d.queueDepth > 0 ? queueWaitSeconds(d) : 0),
  );
  perDeployment(
    'inference_deployment_replicas',
    "The deployment's replicas (spec.replicas), as the load model reads them.",
    (d) => d.replicas,
  );
  const specs = new Map(model.catalog.deployments.map((spec) => [spec.name, spec]));
  const gpuMemory = (d: { name: string; gpus: number }) => d.gpus * (specs.get(d.name)?.gpuMemoryBytes ?? 80e9);
  perDeployment('gpu_memory_total_bytes', "GPU memory of the deployment's replicas (VRAM).", gpuMemory);
  perDeployment(
    'gpu_memory_used_bytes',
    "GPU memory in use: the model weights on every GPU, and the KV cache of the batch in flight, growing with utilisation up to the serving engine's 92% preallocation.",
    (d) => {
      const weights = specs.get(d.name)?.weightsMemoryShare ?? 0.5;
      return gpuMemory(d) * (weights + Math.max(0, GPU_MEMORY_CEILING - weights) * d.utilization);
    },
  );
  perDeployment(
    'cpu_utilization',
    "Share of the deployment's host CPUs in use (0-1): tokenisation, batching and sampling, a floor plus a share of the GPU load.",
    (d) => (d.replicas > 0 ? 0.1 + 0.55 * d.utilization : 0),
  );

  new Counter({
    name: 'llm_prompt_filter_hits_total',
    help: "Served requests whose prompt the gateway's prompt filter flagged (injection attempts, secrets, personal data); flagged requests are still served.",
    labelNames: ['tenant', 'route', 'region', 'env'],
    registers: [registry],
    collect() {
      this.reset();
      for (const h of model.promptFilterHits())
        this.inc({ tenant: h.tenant, route: h.route, region: h.region, env }, h.hits);
    },
  });

  new Gauge({
    name: 'storage_bytes',
    help: "Bytes the platform keeps in object storage, by bucket, data domain and storage class (STANDARD is hot; older data moves to the cold class at the domain's lifecycle transition).",
    labelNames: ['bucket', 'data_domain', 'storage_class', 'env'],
    registers: [registry],
    collect() {
      this.reset();
      for (const c of model.storage.stored())
        this.set({ bucket: c.bucket, data_domain: c.domain, storage_class: c.storageClass, env }, c.bytes);
    },
  });
  new Counter({
    name: 'storage_cost_usd_total',
    help: "Object storage spend in US dollars: each storage class's GB-month price over what it held, accrued with the model clock.",
    labelNames: ['bucket', 'data_domain', 'storage_class', 'env'],
    registers: [registry],
    collect() {
      this.reset();
      for (const c of model.storage.stored())
        this.inc({ bucket: c.bucket, data_domain: c.domain, storage_class: c.storageClass, env }, c.costUsd);
    },
  });
  new Counter({
    name: 'storage_written_bytes_total',
    help: 'Bytes served requests wrote to object storage, by bucket and data domain.',
    labelNames: ['bucket', 'data_domain', 'env'],
    registers: [registry],
    collect() {
      this.reset();
      for (const t of model.storage.totals())
        if (t.bucket !== null) this.inc({ bucket: t.bucket, data_domain: t.domain, env }, t.writtenBytes);
    },
  });
  const egress = () =>
    model.storage
      .totals()
      .flatMap(({ domain, egressBytes }) =>
        Object.entries(egressBytes).map(([region, bytes]) => ({ labels: { data_domain: domain, region, env }, bytes })),
      );
  new Counter({
    name: 'network_egress_bytes_total',
    help: 'Bytes leaving the platform, by data domain and region: answers to clients, request logs shipped to the SIEM.',
    labelNames: ['data_domain', 'region', 'env'],
    registers: [registry],
    collect() {
      this.reset();
      for (const { labels, bytes } of egress()) this.inc(labels, bytes);
    },
  });
  new Counter({
    name: 'network_egress_cost_usd_total',
    help: `Egress spend in US dollars: bytes out at $${EGRESS_USD_PER_GB} per GB.`,
    labelNames: ['data_domain', 'region', 'env'],
    registers: [registry],
    collect() {
      this.reset();
      for (const { labels, bytes } of egress()) this.inc(labels, (bytes / 1e9) * EGRESS_USD_PER_GB);
    },
  });
  return registry;
}
