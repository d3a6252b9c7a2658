// The simulated inference platform's load model: tenants send requests to routes, the gateway
// applies the control plane's policy to each one, admitted requests land on GPU deployments.
//
// Deterministic by construction: every random draw comes from a PRNG seeded from (seed, tenant,
// route), each offered request consumes the same draws whatever the policy does with it, and time
// moves only through advance()/tick() — the process wrapper owns the timer. So the same seed and the
// same clock give the same numbers, and two runs that differ in one policy lever differ only by
// that lever's effect.
//
// A tick spreads each stream's arrivals evenly over the interval and serves them in time order.
// The policy's priority field is not modelled: capacity never refuses, it only queues.
//
// Semantics the metrics follow (one request at a time, in this order):
//  1. Region: the route's region weights (control plane, else the catalog default) pick the regional
//     gateway. Each stream walks a golden-ratio (Weyl) sequence against the cumulative shares: the
//     split is within a few requests of exact, and, unlike round-robin, it has no short period that
//     could line up with the cache's or the rate limiter's and send every hit to one region. Weights
//     that give no known region a positive share are treated as absent rather than black-holing traffic.
//  2. Circuit breaker. state closed: no effect. state open + failMode closed: rejected, 503
//     circuit_open. state open + failMode open: the request passes and is served by the fallback
//     model when the policy names one (the breaker opened because the primary is unhealthy), else by
//     the tier's model.
//  3. Model: the policy's modelTier; a tier the catalog lacks falls back to fallbackModel (a model
//     name or a tier), and with neither the request is rejected, 503 model_unavailable.
//  4. Tenant daily quotas (UTC day of the model clock): once the tenant's served tokens or cost today
//     reach tokensPerDay or costPerDayUsd, requests are rejected, 429 quota_tokens / quota_cost,
//     until midnight. The check is made before serving, so the last admitted request may overshoot.
//  5. rateLimitRps: a token bucket per (tenant, route), refilled at the limit, holding one second of
//     requests (at least one); empty → 429 rate_limited. A route-level limit therefore applies to
//     each tenant on the route separately, as the effective policy is read per tenant.
//  6. Tenant requestsPerSecond quota: one bucket per tenant across routes; empty → 429 quota_requests.
//  7. Tokens: input = raw prompt (× context blow-up), × promptCompressionRatio when compression is
//     on (rounded up), then truncated to maxInputTokens. Output from the route's distribution (an
//     API request's max_tokens caps it).
//  8. Cache: hit ratio = the route's ratio for the cache mode (off: 0), × (1 − magnitude) for each
//     cache collapse. Hits are spread by error diffusion per stream and region (each region has its
//     own cache), so after n requests at ratio r exactly floor(n·r) were hits. A hit is served
//     (code 200, tokens counted) but costs nothing and never reaches a GPU.
//  9. Cost of a miss: input/1000 × model input price + output/1000 × model output price.
// 10. Deployments: misses arrive at the deployment of the model's tier in the request's region.
//     Each tick it serves up to replicas × requestsPerSecondPerReplica ÷ (gpu saturation) × dt;
//     the rest waits in the queue, which drains when capacity exceeds arrivals. GPU utilisation is
//     the share of that capacity used (0 with no replicas). Capacity is read at the start of the
//     step, so the requests of a step already see a change of replicas made before it.
// 11. Latency, derived from what the request already has, with no draw of its own: a hit takes the
//     catalog's cacheHitSeconds; a miss takes the model's ttftSeconds + output tokens ×
//     secondsPerOutputToken + the wait behind the deployment's queue at arrival, the queue depth it
//     reported at the end of the previous step ÷ its capacity (Little's law; 0 with no queue). That
//     wait is capped at MAX_QUEUE_WAIT_SECONDS, which is also every miss's wait on a deployment with
//     no capacity: the fluid queue still serves the request in the end, so it counts as served, but
//     its recorded latency stays finite. Rejected requests have no latency. Latencies accumulate
//     per served totals as a sum and counts per LATENCY_BUCKETS_SECONDS bucket.
import type { RoutePolicy, TenantQuota } from '../../gateway/control-api';
import {
  checkCatalog,
  DEFAULT_CATALOG,
  diurnalFactor,
  growthFactor,
  meanTokens,
  weeklyFactor,
  type Catalog,
  type DeploymentSpec,
  type ModelSpec,
  type RouteSpec,
  type TokenDistribution,
} from './catalog';
import { covers, IncidentTargetError, isActive, type Incident, type IncidentSpec } from './incidents';
import { hashSeed, lognormal, mulberry32, type Random } from './random';
import { DEFAULT_DATA_DOMAINS, StorageModel } from './storage';

export type { TenantQuota };

/** The latency histogram's upper bounds (Prometheus `le`), from a cache hit to a long queue. */
export const LATENCY_BUCKETS_SECONDS: readonly number[] = [0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 8, 13, 20, 30, 60];

/** The longest a miss waits for a GPU in the latency it records: an upstream timeout's order of magnitude. */
export const MAX_QUEUE_WAIT_SECONDS = 60;

/** What the model reads from the control plane; read-only, asked at most once per stream per tick. */
export interface ControlPlaneView {
  /** The route's policy with the tenant's overrides applied. */
  effectivePolicy(route: string, tenant?: string): RoutePolicy;
  /** null: the tenant has no quota. */
  tenantQuota(tenant: string): TenantQuota | null;
  /** Share per region (any positive scale); null: the catalog default. */
  regionWeights(route: string): Record<string, number> | null;
  /** The deployment's current replica count. */
  replicas(deployment: string): number;
}

export type RejectionReason =
  'circuit_open' | 'model_unavailable' | 'rate_limited' | 'quota_requests' | 'quota_tokens' | 'quota_cost';

export const REJECTION_STATUS: Record<RejectionReason, 429 | 503> = {
  circuit_open: 503,
  model_unavailable: 503,
  rate_limited: 429,
  quota_requests: 429,
  quota_tokens: 429,
  quota_cost: 429,
};

export interface ServedRequest {
  served: true;
  tenant: string;
  route: string;
  region: string;
  model: ModelSpec;
  deployment: string;
  inputTokens: number;
  outputTokens: number;
  cacheHit: boolean;
  costUsd: number;
  /** From the gateway's receipt of the request to the last token of the answer. */
  latencySeconds: number;
}

export interface RejectedRequest {
  served: false;
  tenant: string;
  route: string;
  region: string;
  reason: RejectionReason;
  status: 429 | 503;
  /** When trying again can succeed, in whole seconds. */
  retryAfterSeconds: number;
}

export type RequestOutcome = ServedRequest | RejectedRequest;

/** Cumulative totals for one (tenant, route, region, model): the finest grain the metrics use. */
export interface ServedTotals {
  tenant: string;
  route: string;
  region: string;
  model: string;
  modelVersion: string;
  requests: number;
  cacheHits: number;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
  latencySumSeconds: number;
  /**
   * Requests per latency bucket, not cumulative: entry i counts latencies in
   * (LATENCY_BUCKETS_SECONDS[i − 1], LATENCY_BUCKETS_SECONDS[i]]; the last entry counts those above the largest bound.
   */
  latencyBucketCounts: number[];
}

export interface RejectedTotals {
  tenant: string;
  route: string;
  region: string;
  reason: RejectionReason;
  status: 429 | 503;
  requests: number;
}

export interface TenantRouteTotals {
  tenant: string;
  route: string;
  /** Offered: served + rejected. */
  requests: number;
  served: number;
  cacheHits: number;
  rejected: number;
  rejectedByReason: Partial<Record<RejectionReason, number>>;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
}

export interface DeploymentState {
  name: string;
  namespace: string;
  region: string;
  zone: string;
  tier: string;
  model: string;
  modelVersion: string;
  replicas: number;
  gpus: number;
  capacityRps: number;
  /** Misses that arrived in the last tick, per second. */
  offeredRps: number;
  utilization: number;
  queueDepth: number;
}

export interface GroundTruth {
  atMs: number;
  byTenantRoute: TenantRouteTotals[];
  served: ServedTotals[];
  rejected: RejectedTotals[];
  deployments: DeploymentState[];
}

export interface ChatRequest {
  tenant: string;
  route: string;
  /** Prompt tokens as counted from the messages. */
  inputTokens: number;
  maxTokens?: number;
  /** Seeds the completion length, so the same request always gets the same answer. */
  contentKey: string;
}

export interface PlatformModelOptions {
  seed: number;
  /** The model clock's start, e.g. Date.now() in the process, a fixed instant in tests. */
  startMs: number;
  controlPlane: ControlPlaneView;
  catalog?: Catalog;
  /** advance() moves in steps of this size, so the numbers do not depend on how often the timer fires. */
  stepSeconds?: number;
  /** The env label on every metric. */
  env?: string;
}

interface Bucket {
  tokens: number;
  updatedMs: number;
}

interface DeploymentLoad {
  spec: DeploymentSpec;
  pendingArrivals: number;
  queueDepth: number;
  utilization: number;
  offeredRps: number;
  replicas: number;
  capacityRps: number;
}

/** One tenant on one route: its draws, its gateway state and its totals, by region index. */
interface Stream {
  tenant: string;
  route: string;
  spec: RouteSpec;
  random: Random;
  arrivalCarry: number;
  regionPhase: number;
  cacheCredit: number[];
  hitRatio: number;
  bucket: Bucket | undefined;
  /** Error diffusion of the route's prompt filter rate, like the cache's: exactly floor(n·rate) of n served are flagged. */
  filterCredit: number;
  /** Served requests the prompt filter flagged, by region index. */
  filterHits: number[];
  served: Map<ModelSpec, Array<ServedTotals | undefined>>;
  rejected: Map<RejectionReason, Array<RejectedTotals | undefined>>;
}

interface DailyUsage {
  day: number;
  tokens: number;
  costUsd: number;
}

const DAY_MS = 86_400_000;
const GOLDEN_RATIO_STEP = 0.6180339887498949;
const key = (...parts: string[]) => parts.join('\u0000');

/** Reads the control plane once per name within one tick or one live request. */
class Reads {
  private readonly policies = new Map<string, RoutePolicy>();
  private readonly quotas = new Map<string, TenantQuota | null>();
  private readonly shares = new Map<string, number[]>();

  constructor(
    private readonly view: ControlPlaneView,
    private readonly regions: string[],
    private readonly defaultWeights: Record<string, number>,
  ) {}

  policy(route: string, tenant: string): RoutePolicy {
    const id = key(route, tenant);
    let policy = this.policies.get(id);
    if (!policy) this.policies.set(id, (policy = this.view.effectivePolicy(route, tenant)));
    return policy;
  }

  quota(tenant: string): TenantQuota | null {
    if (!this.quotas.has(tenant)) this.quotas.set(tenant, this.view.tenantQuota(tenant));
    return this.quotas.get(tenant) as TenantQuota | null;
  }

  /** Cumulative region shares for the route, ending at 1, in the catalog's region order. */
  cumulativeShares(route: string): number[] {
    let cumulative = this.shares.get(route);
    if (!cumulative) {
      const share = (weights: Record<string, number>) =>
        this.regions.map((region) => Math.max(0, weights[region] ?? 0));
      let shares = share(this.view.regionWeights(route) ?? this.defaultWeights);
      if (!shares.some((s) => s > 0)) shares = share(this.defaultWeights);
      const total = shares.reduce((sum, s) => sum + s, 0);
      let running = 0;
      cumulative = shares.map((s) => (running += s / total));
      this.shares.set(route, cumulative);
    }
    return cumulative;
  }
}

export class PlatformModel {
  readonly catalog: Catalog;
  readonly env: string;
  private readonly seed: number;
  private readonly view: ControlPlaneView;
  private readonly stepMs: number;
  private readonly regions: string[];
  private clockMs: number;
  /** The model clock at construction: a stream's growth counts days from it. */
  private readonly startMs: number;
  private readonly streams = new Map<string, Stream>();
  private readonly tenantBuckets = new Map<string, Bucket>();
  private readonly usage = new Map<string, DailyUsage>();
  private readonly loads = new Map<string, DeploymentLoad>();
  /** The deployment serving a tier, by region index. */
  private readonly placement = new Map<string, DeploymentLoad[]>();
  private readonly incidentBook = new Map<string, Incident>();
  private incidentCount = 0;
  /** What the platform stores and sends out, fed by every served request. */
  readonly storage: StorageModel;

  constructor({
    seed,
    startMs,
    controlPlane,
    catalog = DEFAULT_CATALOG,
    stepSeconds = 1,
    env = 'prod',
  }: PlatformModelOptions) {
    checkCatalog(catalog);
    this.catalog = catalog;
    this.seed = seed;
    this.view = controlPlane;
    this.clockMs = startMs;
    this.startMs = startMs;
    this.stepMs = stepSeconds * 1000;
    this.env = env;
    this.regions = Object.keys(catalog.defaultRegionWeights);
    this.storage = new StorageModel(catalog.dataDomains ?? DEFAULT_DATA_DOMAINS, startMs);
    for (const spec of catalog.deployments) {
      const load = {
        spec,
        pendingArrivals: 0,
        queueDepth: 0,
        utilization: 0,
        offeredRps: 0,
        replicas: spec.replicas,
        capacityRps: spec.replicas * spec.requestsPerSecondPerReplica,
      };
      this.loads.set(spec.name, load);
      const byRegion = this.placement.get(spec.tier) ?? [];
      byRegion[this.regions.indexOf(spec.region)] = load;
      this.placement.set(spec.tier, byRegion);
    }
    for (const { tenant, route } of catalog.traffic) this.stream(tenant, route);
  }

  get nowMs(): number {
    return this.clockMs;
  }

  get tenants(): string[] {
    return [...new Set(this.catalog.traffic.map((t) => t.tenant))];
  }

  /** Runs whole steps up to `toMs`; the remainder waits for the next call. A clock that steps back is ignored. */
  advance(toMs: number): void {
    while (this.clockMs + this.stepMs <= toMs) this.tick(this.stepMs / 1000);
  }

  /** One step of `dtSeconds`: the background load for the interval, then the deployments. */
  tick(dtSeconds: number): void {
    if (!(dtSeconds > 0)) throw new RangeError(`tick(${dtSeconds}): the step must be a positive number of seconds`);
    const startMs = this.clockMs;
    // Load is shaped at the start of the interval; the gateway's decisions are stamped at its end.
    this.clockMs = startMs + dtSeconds * 1000;
    const reads = this.reads();
    const incidents = this.activeIncidents(startMs);
    this.updateCapacity(incidents);
    const seasonal = diurnalFactor(this.catalog.seasonality, startMs) * weeklyFactor(this.catalog.weekly, startMs);
    const days = (startMs - this.startMs) / 86_400_000;
    // Every stream's arrivals are spread evenly over the interval and merged in time order, so a
    // tenant quota shared by routes refuses each route in proportion, not whichever comes first.
    const arrivals: Array<{ at: number; stream: Stream; blowup: number; cacheKept: number }> = [];
    for (const traffic of this.catalog.traffic) {
      const { tenant, route, requestsPerSecond } = traffic;
      const stream = this.stream(tenant, route);
      const spike = product(incidents, 'spend_spike', tenant, route);
      const blowup = product(incidents, 'context_blowup', tenant, route);
      const cacheKept = cacheKeptBy(incidents, tenant, route);
      const jitter = 1 + this.catalog.jitter * (2 * stream.random() - 1);
      const rate = requestsPerSecond * seasonal * growthFactor(traffic, days);
      stream.arrivalCarry += rate * jitter * spike * dtSeconds;
      const count = Math.floor(stream.arrivalCarry);
      stream.arrivalCarry -= count;
      for (let k = 0; k < count; k++) arrivals.push({ at: (k + 0.5) / count, stream, blowup, cacheKept });
    }
    arrivals.sort((a, b) => a.at - b.at);
    for (const { stream, blowup, cacheKept } of arrivals) {
      const rawInput = sampleTokens(stream.random, stream.spec.input, 1);
      const rawOutput = sampleTokens(stream.random, stream.spec.output, 0);
      this.handle(stream, reads, cacheKept, Math.max(1, Math.round(rawInput * blowup)), rawOutput);
    }
    this.runDeployments(dtSeconds);
    this.storage.advance(dtSeconds, this.clockMs);
  }

  /** A chat completion through the gateway, at the model's current time. */
  chat(request: ChatRequest): RequestOutcome {
    const spec = this.catalog.routes[request.route];
    if (!spec)
      throw new RangeError(
        `route ${request.route} does not exist; known routes: ${Object.keys(this.catalog.routes).join(', ')}`,
      );
    // Its own draw, so live requests never shift the background streams' sequences.
    const rawOutput = sampleTokens(mulberry32(hashSeed(this.seed, 'chat', request.contentKey)), spec.output, 0);
    const output = request.maxTokens === undefined ? rawOutput : Math.min(rawOutput, request.maxTokens);
    const cacheKept = cacheKeptBy(this.activeIncidents(this.clockMs), request.tenant, request.route);
    return this.handle(
      this.stream(request.tenant, request.route),
      this.reads(),
      cacheKept,
      request.inputTokens,
      output,
    );
  }

  injectIncident(spec: IncidentSpec, startsAtMs = this.clockMs): Incident {
    if ('deployment' in spec) {
      if (!this.loads.has(spec.deployment))
        throw new IncidentTargetError(
          'deployment',
          `deployment ${spec.deployment} does not exist; known deployments: ${[...this.loads.keys()].join(', ')}`,
        );
    } else {
      if (spec.tenant !== undefined && !this.tenants.includes(spec.tenant))
        throw new IncidentTargetError(
          'tenant',
          `tenant ${spec.tenant} does not exist; known tenants: ${this.tenants.join(', ')}`,
        );
      if (spec.route !== undefined && !this.catalog.routes[spec.route]) {
        throw new IncidentTargetError(
          'route',
          `route ${spec.route} does not exist; known routes: ${Object.keys(this.catalog.routes).join(', ')}`,
        );
      }
    }
    const incident: Incident = {
      id: `inc-${++this.incidentCount}`,
      kind: spec.kind,
      tenant: 'tenant' in spec ? (spec.tenant ?? null) : null,
      route: 'route' in spec ? (spec.route ?? null) : null,
      deployment: 'deployment' in spec ? spec.deployment : null,
      magnitude: spec.magnitude,
      startsAtMs,
      endsAtMs: spec.durationSeconds === undefined ? null : startsAtMs + spec.durationSeconds * 1000,
    };
    this.incidentBook.set(incident.id, incident);
    return { ...incident };
  }

  incidents(): Array<Incident & { active: boolean }> {
    return [...this.incidentBook.values()].map((incident) => ({
      ...incident,
      active: isActive(incident, this.clockMs),
    }));
  }

  /** Ends an incident now; undefined when there is none with this id. */
  clearIncident(id: string): Incident | undefined {
    const incident = this.incidentBook.get(id);
    this.incidentBook.delete(id);
    return incident && { ...incident };
  }

  groundTruth(): GroundTruth {
    const served: ServedTotals[] = [];
    const rejected: RejectedTotals[] = [];
    for (const stream of this.streams.values()) {
      for (const byRegion of stream.served.values())
        for (const totals of byRegion)
          if (totals) served.push({ ...totals, latencyBucketCounts: [...totals.latencyBucketCounts] });
      for (const byRegion of stream.rejected.values())
        for (const totals of byRegion) if (totals) rejected.push({ ...totals });
    }
    return {
      atMs: this.clockMs,
      byTenantRoute: [...this.streams.values()].map(streamTotals),
      served,
      rejected,
      deployments: this.deploymentStates(),
    };
  }

  /** Totals for one tenant and route (all zero when it has seen nothing). */
  totals(tenant: string, route: string): TenantRouteTotals {
    const stream = this.streams.get(key(tenant, route));
    return stream ? streamTotals(stream) : emptyTotals(tenant, route);
  }

  deploymentStates(): DeploymentState[] {
    return [...this.loads.values()].map(({ spec, ...load }) => {
      const model = this.tierModel(spec.tier)!;
      return {
        name: spec.name,
        namespace: spec.namespace,
        region: spec.region,
        zone: spec.zone,
        tier: spec.tier,
        model: model.name,
        modelVersion: model.version,
        replicas: load.replicas,
        gpus: load.replicas * spec.gpusPerReplica,
        capacityRps: load.capacityRps,
        offeredRps: load.offeredRps,
        utilization: load.utilization,
        queueDepth: load.queueDepth,
      };
    });
  }

  /** Each stream's cache hit ratio as of its last served request. */
  cacheHitRatios(): Array<{ tenant: string; route: string; ratio: number }> {
    return [...this.streams.values()].map(({ tenant, route, hitRatio }) => ({ tenant, route, ratio: hitRatio }));
  }

  /** Served requests the gateway's prompt filter flagged, per tenant, route and region (zeros included). */
  promptFilterHits(): Array<{ tenant: string; route: string; region: string; hits: number }> {
    return [...this.streams.values()].flatMap(({ tenant, route, filterHits }) =>
      filterHits.map((hits, index) => ({ tenant, route, region: this.regions[index]!, hits })),
    );
  }

  /** Each route's usual input tokens per request (the seed's llm_tokens_baseline): no incident, no policy change. */
  tokenBaselines(): Array<{ route: string; inputPerRequest: number }> {
    const routes = [...new Set(this.catalog.traffic.map(({ route }) => route))];
    return routes.map((route) => ({ route, inputPerRequest: meanTokens(this.catalog.routes[route]!.input) }));
  }

  private reads(): Reads {
    return new Reads(this.view, this.regions, this.catalog.defaultRegionWeights);
  }

  private stream(tenant: string, route: string): Stream {
    const id = key(tenant, route);
    let stream = this.streams.get(id);
    if (!stream) {
      stream = {
        tenant,
        route,
        spec: this.catalog.routes[route]!,
        random: mulberry32(hashSeed(this.seed, tenant, route)),
        arrivalCarry: 0,
        regionPhase: hashSeed(this.seed, 'region', tenant, route) / 4_294_967_296,
        cacheCredit: this.regions.map(() => 0),
        hitRatio: 0,
        bucket: undefined,
        filterCredit: 0,
        filterHits: this.regions.map(() => 0),
        served: new Map(),
        rejected: new Map(),
      };
      this.streams.set(id, stream);
    }
    return stream;
  }

  /** `cacheKept`: the share of the cache hit ratio incidents leave (1 without a cache collapse). */
  private handle(
    stream: Stream,
    reads: Reads,
    cacheKept: number,
    rawInputTokens: number,
    rawOutputTokens: number,
  ): RequestOutcome {
    const { tenant, route } = stream;
    const shares = reads.cumulativeShares(route);
    stream.regionPhase = (stream.regionPhase + GOLDEN_RATIO_STEP) % 1;
    let regionIndex = shares.findIndex((upTo) => stream.regionPhase < upTo);
    if (regionIndex < 0) regionIndex = shares.length - 1;
    const region = this.regions[regionIndex]!;
    const policy = reads.policy(route, tenant);

    const circuitOpen = policy.circuit.state === 'open';
    if (circuitOpen && policy.circuit.failMode === 'closed')
      return this.reject(stream, regionIndex, 'circuit_open', 30);
    const tierModel = this.tierModel(policy.modelTier);
    const fallback =
      policy.fallbackModel === null
        ? undefined
        : (this.catalog.models.find((m) => m.name === policy.fallbackModel) ?? this.tierModel(policy.fallbackModel));
    const model = circuitOpen ? (fallback ?? tierModel) : (tierModel ?? fallback);
    if (!model) return this.reject(stream, regionIndex, 'model_unavailable', 30);

    const quota = reads.quota(tenant);
    const usage = this.dailyUsage(tenant);
    const secondsToMidnight = Math.ceil((DAY_MS - (this.clockMs % DAY_MS)) / 1000);
    if (quota?.tokensPerDay != null && usage.tokens >= quota.tokensPerDay)
      return this.reject(stream, regionIndex, 'quota_tokens', secondsToMidnight);
    if (quota?.costPerDayUsd != null && usage.costUsd >= quota.costPerDayUsd)
      return this.reject(stream, regionIndex, 'quota_cost', secondsToMidnight);
    if (policy.rateLimitRps !== null) {
      stream.bucket = this.refill(stream.bucket, policy.rateLimitRps);
      if (stream.bucket.tokens < 1)
        return this.reject(
          stream,
          regionIndex,
          'rate_limited',
          Math.ceil((1 - stream.bucket.tokens) / policy.rateLimitRps),
        );
    } else {
      stream.bucket = undefined;
    }
    if (quota?.requestsPerSecond != null) {
      const bucket = this.refill(this.tenantBuckets.get(tenant), quota.requestsPerSecond);
      this.tenantBuckets.set(tenant, bucket);
      if (bucket.tokens < 1)
        return this.reject(
          stream,
          regionIndex,
          'quota_requests',
          Math.ceil((1 - bucket.tokens) / quota.requestsPerSecond),
        );
      bucket.tokens -= 1;
    } else {
      this.tenantBuckets.delete(tenant);
    }
    // Taken only once every check passed, so a request the tenant quota refuses keeps its route slot.
    if (stream.bucket) stream.bucket.tokens -= 1;

    let inputTokens = rawInputTokens;
    if (policy.promptCompression)
      inputTokens = Math.max(1, Math.ceil(inputTokens * this.catalog.promptCompressionRatio));
    if (policy.maxInputTokens !== null) inputTokens = Math.min(inputTokens, policy.maxInputTokens);
    const outputTokens = rawOutputTokens;

    stream.hitRatio = policy.cacheMode === 'off' ? 0 : stream.spec.cacheHitRatio[policy.cacheMode] * cacheKept;
    stream.cacheCredit[regionIndex]! += stream.hitRatio;
    const cacheHit = stream.cacheCredit[regionIndex]! >= 1;
    if (cacheHit) stream.cacheCredit[regionIndex]! -= 1;
    const costUsd = cacheHit
      ? 0
      : (inputTokens / 1000) * model.inputUsdPer1k + (outputTokens / 1000) * model.outputUsdPer1k;

    const deployment = this.placement.get(model.tier)![regionIndex]!;
    const latencySeconds = cacheHit
      ? this.catalog.cacheHitSeconds
      : model.ttftSeconds + outputTokens * model.secondsPerOutputToken + queueWaitSeconds(deployment);
    if (!cacheHit) deployment.pendingArrivals += 1;
    stream.filterCredit += stream.spec.promptFilterRate ?? 0;
    if (stream.filterCredit >= 1) {
      stream.filterCredit -= 1;
      stream.filterHits[regionIndex]! += 1;
    }
    this.storage.recordServed(region, inputTokens, outputTokens);
    usage.tokens += inputTokens + outputTokens;
    usage.costUsd += costUsd;
    let byRegion = stream.served.get(model);
    if (!byRegion) stream.served.set(model, (byRegion = []));
    const totals = (byRegion[regionIndex] ??= {
      tenant,
      route,
      region,
      model: model.name,
      modelVersion: model.version,
      requests: 0,
      cacheHits: 0,
      inputTokens: 0,
      outputTokens: 0,
      costUsd: 0,
      latencySumSeconds: 0,
      latencyBucketCounts: new Array<number>(LATENCY_BUCKETS_SECONDS.length + 1).fill(0),
    });
    totals.requests += 1;
    totals.cacheHits += cacheHit ? 1 : 0;
    totals.inputTokens += inputTokens;
    totals.outputTokens += outputTokens;
    totals.costUsd += costUsd;
    totals.latencySumSeconds += latencySeconds;
    totals.latencyBucketCounts[latencyBucket(latencySeconds)]! += 1;
    return {
      served: true,
      tenant,
      route,
      region,
      model,
      deployment: deployment.spec.name,
      inputTokens,
      outputTokens,
      cacheHit,
      costUsd,
      latencySeconds,
    };
  }

  private reject(
    stream: Stream,
    regionIndex: number,
    reason: RejectionReason,
    retryAfterSeconds: number,
  ): RejectedRequest {
    const { tenant, route } = stream;
    const region = this.regions[regionIndex]!;
    const status = REJECTION_STATUS[reason];
    let byRegion = stream.rejected.get(reason);
    if (!byRegion) stream.rejected.set(reason, (byRegion = []));
    (byRegion[regionIndex] ??= { tenant, route, region, reason, status, requests: 0 }).requests += 1;
    return { served: false, tenant, route, region, reason, status, retryAfterSeconds };
  }

  /** A token bucket holding one second of requests (at least one), refilled for the time since it was last used. */
  private refill(bucket: Bucket | undefined, ratePerSecond: number): Bucket {
    const capacity = Math.max(1, ratePerSecond);
    if (!bucket) return { tokens: capacity, updatedMs: this.clockMs };
    return {
      tokens: Math.min(capacity, bucket.tokens + (ratePerSecond * (this.clockMs - bucket.updatedMs)) / 1000),
      updatedMs: this.clockMs,
    };
  }

  private dailyUsage(tenant: string): DailyUsage {
    const day = Math.floor(this.clockMs / DAY_MS);
    let usage = this.usage.get(tenant);
    if (!usage || usage.day !== day) this.usage.set(tenant, (usage = { day, tokens: 0, costUsd: 0 }));
    return usage;
  }

  private updateCapacity(incidents: Incident[]): void {
    for (const load of this.loads.values()) {
      load.replicas = Math.max(0, this.view.replicas(load.spec.name));
      const slowdown = incidents
        .filter((i) => i.kind === 'gpu_saturation' && i.deployment === load.spec.name)
        .reduce((factor, i) => factor * i.magnitude, 1);
      load.capacityRps = (load.replicas * load.spec.requestsPerSecondPerReplica) / slowdown;
    }
  }

  private runDeployments(dtSeconds: number): void {
    for (const load of this.loads.values()) {
      const available = load.capacityRps * dtSeconds;
      const backlog = load.queueDepth + load.pendingArrivals;
      const served = Math.min(backlog, available);
      load.queueDepth = backlog - served;
      load.utilization = available > 0 ? served / available : 0;
      load.offeredRps = load.pendingArrivals / dtSeconds;
      load.pendingArrivals = 0;
    }
  }

  private tierModel(tier: string): ModelSpec | undefined {
    return this.catalog.models.find((m) => m.tier === tier);
  }

  private activeIncidents(atMs: number): Incident[] {
    return [...this.incidentBook.values()].filter((incident) => isActive(incident, atMs));
  }
}

function emptyTotals(tenant: string, route: string): TenantRouteTotals {
  return {
    tenant,
    route,
    requests: 0,
    served: 0,
    cacheHits: 0,
    rejected: 0,
    rejectedByReason: {},
    inputTokens: 0,
    outputTokens: 0,
    costUsd: 0,
  };
}

function streamTotals(stream: Stream): TenantRouteTotals {
  const totals = emptyTotals(stream.tenant, stream.route);
  for (const byRegion of stream.served.values()) {
    for (const s of byRegion) {
      if (!s) continue;
      totals.requests += s.requests;
      totals.served += s.requests;
      totals.cacheHits += s.cacheHits;
      totals.inputTokens += s.inputTokens;
      totals.outputTokens += s.outputTokens;
      totals.costUsd += s.costUsd;
    }
  }
  for (const [reason, byRegion] of stream.rejected) {
    for (const r of byRegion) {
      if (!r) continue;
      totals.requests += r.requests;
      totals.rejected += r.requests;
      totals.rejectedByReason[reason] = (totals.rejectedByReason[reason] ?? 0) + r.requests;
    }
  }
  return totals;
}

/** Little's law: the queue ahead drains at the deployment's capacity; with no capacity it never does. */
export function queueWaitSeconds({
  queueDepth,
  capacityRps,
}: Pick<DeploymentLoad, 'queueDepth' | 'capacityRps'>): number {
  return capacityRps > 0 ? Math.min(MAX_QUEUE_WAIT_SECONDS, queueDepth / capacityRps) : MAX_QUEUE_WAIT_SECONDS;
}

/** The index in ServedTotals.latencyBucketCounts: the first bound at or above the latency, else the overflow entry. */
function latencyBucket(seconds: number): number {
  const index = LATENCY_BUCKETS_SECONDS.findIndex((bound) => seconds <= bound);
  return index < 0 ? LATENCY_BUCKETS_SECONDS.length : index;
}

function product(incidents: Incident[], kind: Incident['kind'], tenant: string, route: string): number {
  return incidents
    .filter((i) => i.kind === kind && covers(i, tenant, route))
    .reduce((factor, i) => factor * i.magnitude, 1);
}

function cacheKeptBy(incidents: Incident[], tenant: string, route: string): number {
  return incidents
    .filter((i) => i.kind === 'cache_collapse' && covers(i, tenant, route))
    .reduce((kept, i) => kept * (1 - i.magnitude), 1);
}

function sampleTokens(random: Random, distribution: TokenDistribution, minimum: number): number {
  return Math.min(
    distribution.max,
    Math.max(minimum, Math.round(lognormal(random, distribution.median, distribution.sigma))),
  );
}
