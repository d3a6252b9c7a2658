// What the simulated inference platform serves: tenants' traffic per route, token sizes, models and
// their prices, regions and the GPU deployments behind each model tier. Numbers are realistic in
// shape (list prices of 2024-era hosted models, lognormal prompt sizes, a diurnal curve) so cost,
// token and capacity alerts fire on the same orders of magnitude they would in production.
import { DEFAULT_DATA_DOMAINS, type DataDomainSpec } from './storage';

/** Lognormal token counts per request: half the requests are below `median`; `max` is the model's window. */
export interface TokenDistribution {
  median: number;
  /** Spread in log space; 0 makes every request exactly `median` tokens. */
  sigma: number;
  max: number;
}

export interface RouteSpec {
  input: TokenDistribution;
  output: TokenDistribution;
  /** The share of requests the response cache answers, per cache mode (off answers none). */
  cacheHitRatio: { standard: number; aggressive: number };
  /**
   * Share of served requests whose prompt the gateway's prompt filter flags (injection attempts, secrets, PII); flagged
   * requests are still served. Default 0.
   */
  promptFilterRate?: number;
}

export interface ModelSpec {
  name: string;
  version: string;
  tier: string;
  inputUsdPer1k: number;
  outputUsdPer1k: number;
  /** Time to first token of a request that reaches a GPU with no queue ahead of it. */
  ttftSeconds: number;
  /** Decoding time per output token, so a long answer takes proportionally longer. */
  secondsPerOutputToken: number;
}

export interface DeploymentSpec {
  /** Unique across regions: ControlPlaneView.replicas() is asked by this name. */
  name: string;
  namespace: string;
  region: string;
  zone: string;
  /** The model tier this deployment serves. */
  tier: string;
  /** Replicas at start, for seeding the object store that answers ControlPlaneView.replicas(). */
  replicas: number;
  gpusPerReplica: number;
  /** Requests per second one replica serves before requests start to queue. */
  requestsPerSecondPerReplica: number;
  /** Memory of one GPU in bytes (default 80 GB, an H100). */
  gpuMemoryBytes?: number;
  /**
   * Share of GPU memory the model's weights hold (default 0.5); the KV cache of the batch in flight fills the rest
   * with utilisation, up to the serving engine's 92% preallocation.
   */
  weightsMemoryShare?: number;
}

export interface TrafficSpec {
  tenant: string;
  route: string;
  /** Mean over a day; the diurnal curve moves the instantaneous rate around it. */
  requestsPerSecond: number;
  /**
   * Growth of the stream's rate per day since the model clock's start, as a share of requestsPerSecond: 0.02 adds 2%
   * of it each day (a tenant whose usage trends up). Default 0.
   */
  growthPerDay?: number;
}

export interface Catalog {
  routes: Record<string, RouteSpec>;
  models: ModelSpec[];
  /** Share of each route's traffic per region when the control plane sets no region weights. */
  defaultRegionWeights: Record<string, number>;
  deployments: DeploymentSpec[];
  traffic: TrafficSpec[];
  /**
   * rate(t) = mean × (1 + amplitude × sin(2π (hourUtc − peakHourUtc + 6) / 24)): peak at peakHourUtc, trough 12 h
   * later.
   */
  seasonality: { amplitude: number; peakHourUtc: number };
  /** The weekly curve: every stream's rate × weekendFactor on Saturdays and Sundays (UTC). Absent: no weekly curve. */
  weekly?: { weekendFactor: number };
  /** Each tick, a stream's rate is scaled by a uniform draw in [1 − jitter, 1 + jitter]. */
  jitter: number;
  /** Input tokens kept by prompt compression. */
  promptCompressionRatio: number;
  /** How long the gateway takes to answer from its response cache: no GPU, no queue. */
  cacheHitSeconds: number;
  /** What the platform stores and sends out per data domain (default: storage.ts's DEFAULT_DATA_DOMAINS). */
  dataDomains?: DataDomainSpec[];
}

const REGION_ZONES = { 'us-east-1': 'us-east-1a', 'eu-west-1': 'eu-west-1b' } as const;

function deploymentsFor(
  tier: string,
  perRegion: Record<keyof typeof REGION_ZONES, number>,
  gpusPerReplica: number,
  requestsPerSecondPerReplica: number,
  weightsMemoryShare: number,
): DeploymentSpec[] {
  return Object.entries(perRegion).map(([region, replicas]) => ({
    name: `llm-${tier}-${region}`,
    namespace: 'inference',
    region,
    zone: REGION_ZONES[region as keyof typeof REGION_ZONES],
    tier,
    replicas,
    gpusPerReplica,
    requestsPerSecondPerReplica,
    gpuMemoryBytes: 80e9,
    weightsMemoryShare,
  }));
}

/**
 * The default platform. Premium carries every route but embeddings (about 80 req/s on average, 72
 * after the cache); its replicas run near 80% at the afternoon peak, so a spike or a capacity drop
 * saturates them and scaling out drains the queue.
 */
export const DEFAULT_CATALOG: Catalog = {
  routes: {
    chat: {
      input: { median: 1_200, sigma: 0.8, max: 128_000 },
      output: { median: 300, sigma: 0.6, max: 4_096 },
      cacheHitRatio: { standard: 0.12, aggressive: 0.35 },
      promptFilterRate: 0.004,
    },
    summarize: {
      input: { median: 6_000, sigma: 0.7, max: 128_000 },
      output: { median: 400, sigma: 0.4, max: 2_048 },
      cacheHitRatio: { standard: 0.05, aggressive: 0.2 },
      promptFilterRate: 0.001,
    },
    'code-assist': {
      input: { median: 3_000, sigma: 0.9, max: 128_000 },
      output: { median: 500, sigma: 0.7, max: 4_096 },
      cacheHitRatio: { standard: 0.08, aggressive: 0.25 },
      promptFilterRate: 0.003,
    },
    embeddings: {
      input: { median: 400, sigma: 0.6, max: 8_192 },
      output: { median: 0, sigma: 0, max: 0 },
      cacheHitRatio: { standard: 0.3, aggressive: 0.6 },
    },
    core: {
      input: { median: 800, sigma: 0.5, max: 32_000 },
      output: { median: 150, sigma: 0.5, max: 1_024 },
      cacheHitRatio: { standard: 0.1, aggressive: 0.3 },
      promptFilterRate: 0.0005,
    },
    risk: {
      input: { median: 1_500, sigma: 0.5, max: 32_000 },
      output: { median: 200, sigma: 0.4, max: 1_024 },
      cacheHitRatio: { standard: 0.1, aggressive: 0.3 },
      promptFilterRate: 0.0005,
    },
    fraud: {
      input: { median: 600, sigma: 0.4, max: 16_000 },
      output: { median: 50, sigma: 0.3, max: 256 },
      cacheHitRatio: { standard: 0.02, aggressive: 0.1 },
      promptFilterRate: 0.0002,
    },
  },
  models: [
    // Latency of hosted models of these sizes: the larger the model, the later the first token and the slower each next
    // one.
    {
      name: 'llama-3.1-405b-instruct',
      version: '2024-07-23',
      tier: 'premium',
      inputUsdPer1k: 0.005,
      outputUsdPer1k: 0.015,
      ttftSeconds: 0.6,
      secondsPerOutputToken: 0.03,
    },
    {
      name: 'llama-3.1-70b-instruct',
      version: '2024-07-23',
      tier: 'standard',
      inputUsdPer1k: 0.0005,
      outputUsdPer1k: 0.0015,
      ttftSeconds: 0.35,
      secondsPerOutputToken: 0.015,
    },
    {
      name: 'llama-3.1-8b-instruct',
      version: '2024-07-23',
      tier: 'distilled',
      inputUsdPer1k: 0.0003,
      outputUsdPer1k: 0.0006,
      ttftSeconds: 0.15,
      secondsPerOutputToken: 0.006,
    },
  ],
  defaultRegionWeights: { 'us-east-1': 0.6, 'eu-west-1': 0.4 },
  deployments: [
    // Weights in FP8: 405 GB over eight 80 GB GPUs, 70 GB on one, 8 GB on one.
    ...deploymentsFor('premium', { 'us-east-1': 10, 'eu-west-1': 7 }, 8, 8, 0.63),
    ...deploymentsFor('standard', { 'us-east-1': 3, 'eu-west-1': 2 }, 1, 20, 0.875),
    ...deploymentsFor('distilled', { 'us-east-1': 2, 'eu-west-1': 2 }, 1, 30, 0.1),
  ],
  traffic: [
    { tenant: 'acme', route: 'chat', requestsPerSecond: 12 },
    { tenant: 'acme', route: 'summarize', requestsPerSecond: 4 },
    { tenant: 'acme', route: 'code-assist', requestsPerSecond: 6 },
    { tenant: 'acme', route: 'embeddings', requestsPerSecond: 20 },
    { tenant: 'globex', route: 'chat', requestsPerSecond: 8 },
    { tenant: 'globex', route: 'summarize', requestsPerSecond: 6 },
    { tenant: 'globex', route: 'code-assist', requestsPerSecond: 2 },
    { tenant: 'globex', route: 'embeddings', requestsPerSecond: 10 },
    { tenant: 'initech', route: 'chat', requestsPerSecond: 4 },
    { tenant: 'initech', route: 'summarize', requestsPerSecond: 2 },
    { tenant: 'initech', route: 'code-assist', requestsPerSecond: 8 },
    { tenant: 'initech', route: 'embeddings', requestsPerSecond: 6 },
    { tenant: 'umbrella', route: 'chat', requestsPerSecond: 6 },
    { tenant: 'umbrella', route: 'summarize', requestsPerSecond: 3 },
    { tenant: 'umbrella', route: 'code-assist', requestsPerSecond: 1 },
    { tenant: 'umbrella', route: 'embeddings', requestsPerSecond: 12 },
    { tenant: 'internal', route: 'chat', requestsPerSecond: 2 },
    { tenant: 'internal', route: 'core', requestsPerSecond: 5 },
    { tenant: 'internal', route: 'risk', requestsPerSecond: 3 },
    { tenant: 'internal', route: 'fraud', requestsPerSecond: 8 },
  ],
  seasonality: { amplitude: 0.5, peakHourUtc: 15 },
  jitter: 0.1,
  promptCompressionRatio: 0.6,
  cacheHitSeconds: 0.02,
  dataDomains: DEFAULT_DATA_DOMAINS,
};

/** The load curve's factor at a time: 1 on average over a day. */
export function diurnalFactor(seasonality: Catalog['seasonality'], atMs: number): number {
  const hourUtc = (atMs / 3_600_000) % 24;
  return 1 + seasonality.amplitude * Math.sin((2 * Math.PI * (hourUtc - seasonality.peakHourUtc + 6)) / 24);
}

/** The weekly curve's factor at a time: weekendFactor on a UTC Saturday or Sunday, else 1 (and 1 without a curve). */
export function weeklyFactor(weekly: Catalog['weekly'], atMs: number): number {
  const weekday = new Date(atMs).getUTCDay();
  return weekly !== undefined && (weekday === 0 || weekday === 6) ? weekly.weekendFactor : 1;
}

/** A stream's trend factor `days` after the model clock's start: 1 + growthPerDay × days (1 without growth). */
export const growthFactor = ({ growthPerDay }: TrafficSpec, days: number) =>
  growthPerDay === undefined ? 1 : 1 + growthPerDay * days;

/** The mean of a lognormal: what a route's requests average before any policy or incident. */
export const meanTokens = ({ median, sigma }: TokenDistribution) => median * Math.exp((sigma * sigma) / 2);

/** Refuses a catalog the model could not serve from: every tier needs a deployment in every region. */
export function checkCatalog(catalog: Catalog): void {
  const problems: string[] = [];
  for (const { tenant, route } of catalog.traffic) {
    if (!catalog.routes[route])
      problems.push(`traffic for ${tenant} names route ${route}, which catalog.routes does not define`);
  }
  for (const model of catalog.models) {
    for (const region of Object.keys(catalog.defaultRegionWeights)) {
      if (!catalog.deployments.some((d) => d.tier === model.tier && d.region === region)) {
        problems.push(
          `tier ${model.tier} (model ${model.name}) has no deployment in region ${region}; add one to catalog.deployments`,
        );
      }
    }
  }
  const names = catalog.deployments.map((d) => d.name);
  for (const name of new Set(names))
    if (names.indexOf(name) !== names.lastIndexOf(name))
      problems.push(`deployment name ${name} is used twice; names must be unique across regions`);
  if (problems.length > 0) throw new Error(`invalid platform catalog: ${problems.join('; ')}`);
}
