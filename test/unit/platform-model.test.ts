// The simulated platform's load model: determinism, and every policy lever and incident moving its
// metric by the amount the model's rules say. Most tests use a flat catalog (fixed token sizes, no
// jitter, no seasonality) so the expected numbers can be computed by hand.
import { DEFAULT_CATALOG, diurnalFactor, type Catalog } from '../../simulator/platform/catalog';
import { IncidentTargetError } from '../../simulator/platform/incidents';
import {
  LATENCY_BUCKETS_SECONDS,
  MAX_QUEUE_WAIT_SECONDS,
  PlatformModel,
  type ServedTotals,
  type TenantQuota,
} from '../../simulator/platform/model';
import { PolicyStore } from '../../simulator/policy-store';
import { fakeControlPlane, FLAT_ROUTES, type FakeControlPlane } from '../helpers/platform';

const NO_QUOTA: TenantQuota = { tokensPerDay: null, requestsPerSecond: null, costPerDayUsd: null };

/** Fixed token sizes, no jitter, no seasonality: rates are exact. */
const FLAT: Catalog = {
  ...DEFAULT_CATALOG,
  routes: FLAT_ROUTES,
  defaultRegionWeights: { 'us-east-1': 1, 'eu-west-1': 1 },
  traffic: [
    { tenant: 'acme', route: 'chat', requestsPerSecond: 10 },
    { tenant: 'acme', route: 'summarize', requestsPerSecond: 4 },
    { tenant: 'globex', route: 'chat', requestsPerSecond: 6 },
  ],
  seasonality: { amplitude: 0, peakHourUtc: 15 },
  jitter: 0,
};

/** Premium prices: $0.005 per 1k input, $0.015 per 1k output. */
const CHAT_PREMIUM_USD = 1.2 * 0.005 + 0.3 * 0.015;
const CHAT_DISTILLED_USD = 1.2 * 0.0003 + 0.3 * 0.0006;

const START = Date.UTC(2025, 0, 6, 15, 0, 0);

function flatModel(configure: (view: FakeControlPlane) => void = () => {}, catalog = FLAT) {
  const view = fakeControlPlane(catalog);
  configure(view);
  const model = new PlatformModel({ seed: 7, startMs: START, controlPlane: view, catalog });
  return { model, view };
}

const run = (model: PlatformModel, seconds: number) => model.advance(model.nowMs + seconds * 1000);

/** Served requests per region for one tenant and route. */
function servedByRegion(model: PlatformModel, tenant: string, route: string): Record<string, number> {
  const byRegion: Record<string, number> = {};
  for (const s of model.groundTruth().served)
    if (s.tenant === tenant && s.route === route) byRegion[s.region] = (byRegion[s.region] ?? 0) + s.requests;
  return byRegion;
}

describe('determinism', () => {
  // The real seed policies (embeddings on the standard tier, standard caching elsewhere) over the default catalog.
  const realistic = (seed: number) => {
    const store = new PolicyStore();
    const view = fakeControlPlane(DEFAULT_CATALOG);
    view.effectivePolicy = (route, tenant) => store.get(tenant === undefined ? { route } : { route, tenant }).effective;
    return new PlatformModel({ seed, startMs: START, controlPlane: view, catalog: DEFAULT_CATALOG });
  };

  test('the same seed and clock give the same series; another seed gives another', () => {
    const [a, b, c] = [realistic(11), realistic(11), realistic(12)];
    const series = (model: PlatformModel) =>
      Array.from({ length: 5 }, () => {
        run(model, 12);
        return model.groundTruth();
      });
    const first = series(a);
    expect(series(b)).toEqual(first);
    expect(series(c)).not.toEqual(first);
  });

  test('how often the timer fires does not change the numbers: advance runs whole steps', () => {
    const [once, jittery] = [realistic(5), realistic(5)];
    once.advance(START + 60_000);
    for (const at of [START + 300, START + 1_700, START + 1_999, START + 17_450, START + 59_999, START + 60_000])
      jittery.advance(at);
    expect(jittery.nowMs).toBe(START + 60_000);
    expect(jittery.groundTruth()).toEqual(once.groundTruth());
  });

  test('the default platform: every tenant and route has traffic and spend; premium runs hot but keeps up at the peak', () => {
    const model = realistic(1);
    run(model, 120);
    const truth = model.groundTruth();
    expect(truth.byTenantRoute.map((t) => `${t.tenant}/${t.route}`).sort()).toEqual(
      DEFAULT_CATALOG.traffic.map((t) => `${t.tenant}/${t.route}`).sort(),
    );
    for (const t of truth.byTenantRoute) {
      expect(t.served).toBeGreaterThan(0);
      expect(t.costUsd).toBeGreaterThan(0);
    }
    const premium = truth.deployments.find((d) => d.name === 'llm-premium-us-east-1')!;
    expect(premium).toMatchObject({ replicas: 10, gpus: 80, capacityRps: 80, queueDepth: 0 });
    expect(premium.utilization).toBeGreaterThan(0.6);
    expect(premium.utilization).toBeLessThan(1);
  });

  test('the diurnal curve: an hour at the peak carries three times an hour at the trough, as the curve says', () => {
    const seasonal: Catalog = { ...FLAT, seasonality: { amplitude: 0.5, peakHourUtc: 15 } };
    const requestsInHour = (startMs: number) => {
      const model = new PlatformModel({
        seed: 1,
        startMs,
        controlPlane: fakeControlPlane(seasonal),
        catalog: seasonal,
      });
      run(model, 3_600);
      let expected = 0;
      for (let second = 0; second < 3_600; second++)
        expected += 10 * diurnalFactor(seasonal.seasonality, startMs + second * 1000);
      return { actual: model.totals('acme', 'chat').requests, expected };
    };
    const peak = requestsInHour(Date.UTC(2025, 0, 6, 14, 30));
    const trough = requestsInHour(Date.UTC(2025, 0, 6, 2, 30));
    // Whole requests: the fractional carry holds back less than one.
    expect(Math.abs(peak.actual - peak.expected)).toBeLessThan(1);
    expect(Math.abs(trough.actual - trough.expected)).toBeLessThan(1);
    expect(peak.actual / trough.actual).toBeCloseTo(3, 1);
  });
});

describe('policy levers', () => {
  test('maxInputTokens truncates every prompt of that tenant on that route, and only there', () => {
    const { model } = flatModel((view) => (view.policies['chat/acme'] = { maxInputTokens: 1_000 }));
    run(model, 60);
    expect(model.totals('acme', 'chat')).toMatchObject({
      served: 600,
      inputTokens: 600 * 1_000,
      outputTokens: 600 * 300,
    });
    expect(model.totals('globex', 'chat')).toMatchObject({ served: 360, inputTokens: 360 * 1_200 });
    expect(model.totals('acme', 'chat').costUsd).toBeCloseTo(600 * (1.0 * 0.005 + 0.3 * 0.015), 9);
  });

  test('prompt compression keeps 60% of the input tokens, rounded up', () => {
    const { model } = flatModel((view) => (view.policies.summarize = { promptCompression: true }));
    run(model, 30);
    expect(model.totals('acme', 'summarize')).toMatchObject({
      served: 120,
      inputTokens: 120 * 3_600,
      outputTokens: 120 * 400,
    });
  });

  test.each([
    ['off', 0],
    ['standard', 0.25],
    ['aggressive', 0.5],
  ] as const)(
    'cache mode %s answers exactly floor(n × %d) per region from cache, and hits cost nothing',
    (cacheMode, ratio) => {
      const { model } = flatModel((view) => (view.policies.chat = { cacheMode }));
      run(model, 60);
      const perRegion = servedByRegion(model, 'acme', 'chat');
      const expectedHits = Object.values(perRegion).reduce((sum, n) => sum + Math.floor(n * ratio), 0);
      const totals = model.totals('acme', 'chat');
      expect(totals.served).toBe(600);
      expect(totals.cacheHits).toBe(expectedHits);
      expect(totals.costUsd).toBeCloseTo((600 - expectedHits) * CHAT_PREMIUM_USD, 9);
      expect(model.cacheHitRatios()).toContainEqual({ tenant: 'acme', route: 'chat', ratio });
      // Tokens count every served request, hit or not.
      expect(totals.inputTokens).toBe(600 * 1_200);
    },
  );

  test('the distilled tier serves the same tokens at the distilled price, under its own model label', () => {
    const { model } = flatModel((view) => (view.policies['chat/acme'] = { modelTier: 'distilled' }));
    run(model, 60);
    expect(model.totals('acme', 'chat')).toMatchObject({
      served: 600,
      inputTokens: 600 * 1_200,
      outputTokens: 600 * 300,
    });
    expect(model.totals('acme', 'chat').costUsd).toBeCloseTo(600 * CHAT_DISTILLED_USD, 9);
    expect(
      new Set(
        model
          .groundTruth()
          .served.filter((s) => s.tenant === 'acme' && s.route === 'chat')
          .map((s) => s.model),
      ),
    ).toEqual(new Set(['llama-3.1-8b-instruct']));
    expect(model.totals('globex', 'chat').costUsd).toBeCloseTo(360 * CHAT_PREMIUM_USD, 9);
  });

  test('rateLimitRps admits the limit each second and rejects the rest with 429 rate_limited', () => {
    const { model } = flatModel((view) => (view.policies['chat/acme'] = { rateLimitRps: 4 }));
    run(model, 60);
    expect(model.totals('acme', 'chat')).toMatchObject({
      requests: 600,
      served: 240,
      rejected: 360,
      rejectedByReason: { rate_limited: 360 },
    });
    expect(model.groundTruth().rejected.every((r) => r.status === 429)).toBe(true);
    expect(model.totals('globex', 'chat')).toMatchObject({ served: 360, rejected: 0 });
  });

  test('a limit below one request per second admits one request every 1/limit seconds', () => {
    const { model } = flatModel((view) => (view.policies['chat/acme'] = { rateLimitRps: 0.5 }));
    run(model, 60);
    expect(model.totals('acme', 'chat')).toMatchObject({ served: 30, rejected: 570 });
    // The last admission was at second 59: the bucket holds half a request, a whole one in a second.
    const live = { tenant: 'acme', route: 'chat', inputTokens: 10, contentKey: 'k' };
    expect(model.chat(live)).toMatchObject({
      served: false,
      reason: 'rate_limited',
      status: 429,
      retryAfterSeconds: 1,
    });
    model.tick(1);
    expect(model.totals('acme', 'chat').served).toBe(31);
  });

  test('the tenant requests-per-second quota caps the tenant across routes, each route in proportion, 429 quota_requests', () => {
    const { model } = flatModel((view) => (view.quotas.acme = { ...NO_QUOTA, requestsPerSecond: 7 }));
    run(model, 60);
    const chat = model.totals('acme', 'chat');
    const summarize = model.totals('acme', 'summarize');
    // 14 a second offered, 10:4; 7 admitted, in time order: 5 chat and 2 summarize.
    expect(chat).toMatchObject({ served: 300, rejectedByReason: { quota_requests: 300 } });
    expect(summarize).toMatchObject({ served: 120, rejectedByReason: { quota_requests: 120 } });
    expect(model.totals('globex', 'chat')).toMatchObject({ served: 360, rejected: 0 });
  });

  test('the tokens-per-day quota stops the tenant once reached and resets at UTC midnight', () => {
    // Arrivals interleave in time: chat at 0.05 s, 0.15 s…, summarize at 0.125 s, 0.375 s… The
    // tenant's tokens run 1500, 7900, 9400, 10900, 12400, 18800: six served, then ≥ 15,000.
    const beforeMidnight = Date.UTC(2025, 0, 6, 23, 59, 0);
    const view = fakeControlPlane(FLAT);
    view.quotas.acme = { ...NO_QUOTA, tokensPerDay: 15_000 };
    const model = new PlatformModel({ seed: 7, startMs: beforeMidnight, controlPlane: view, catalog: FLAT });
    run(model, 30);
    expect(model.totals('acme', 'chat')).toMatchObject({ served: 4, rejectedByReason: { quota_tokens: 296 } });
    expect(model.totals('acme', 'summarize')).toMatchObject({ served: 2, rejectedByReason: { quota_tokens: 118 } });
    expect(model.totals('globex', 'chat')).toMatchObject({ served: 180, rejected: 0 });
    expect(model.chat({ tenant: 'acme', route: 'chat', inputTokens: 10, contentKey: 'k' })).toMatchObject({
      served: false,
      reason: 'quota_tokens',
      retryAfterSeconds: 30,
    });
    run(model, 60);
    expect(model.totals('acme', 'chat').served).toBe(8);
  });

  test('the cost-per-day quota stops the tenant once its spend reaches the limit (the last request may overshoot)', () => {
    const { model } = flatModel((view) => (view.quotas.acme = { ...NO_QUOTA, costPerDayUsd: 0.05 }));
    run(model, 10);
    // chat $0.0105, then summarize $0.036 (total $0.0465 < $0.05), then chat again: $0.057.
    expect(model.totals('acme', 'chat')).toMatchObject({ served: 2, rejectedByReason: { quota_cost: 98 } });
    expect(model.totals('acme', 'summarize')).toMatchObject({ served: 1, rejectedByReason: { quota_cost: 39 } });
    expect(model.totals('acme', 'chat').costUsd + model.totals('acme', 'summarize').costUsd).toBeCloseTo(
      2 * CHAT_PREMIUM_USD + 6 * 0.005 + 0.4 * 0.015,
      9,
    );
  });

  test('an open breaker failing closed rejects everything with 503 circuit_open', () => {
    const { model } = flatModel((view) => (view.policies.chat = { circuit: { state: 'open', failMode: 'closed' } }));
    run(model, 10);
    expect(model.totals('acme', 'chat')).toMatchObject({
      served: 0,
      rejected: 100,
      rejectedByReason: { circuit_open: 100 },
      costUsd: 0,
    });
    expect(
      model
        .groundTruth()
        .rejected.filter((r) => r.route === 'chat')
        .every((r) => r.status === 503),
    ).toBe(true);
    expect(model.totals('acme', 'summarize')).toMatchObject({ served: 40, rejected: 0 });
  });

  test('an open breaker failing open passes traffic, to the fallback model when the policy names one', () => {
    const { model } = flatModel((view) => {
      view.policies['chat/acme'] = {
        circuit: { state: 'open', failMode: 'open' },
        fallbackModel: 'llama-3.1-8b-instruct',
      };
      view.policies['chat/globex'] = { circuit: { state: 'open', failMode: 'open' } };
    });
    run(model, 10);
    expect(model.totals('acme', 'chat')).toMatchObject({ served: 100, rejected: 0 });
    expect(model.totals('acme', 'chat').costUsd).toBeCloseTo(100 * CHAT_DISTILLED_USD, 9);
    expect(model.totals('globex', 'chat').costUsd).toBeCloseTo(60 * CHAT_PREMIUM_USD, 9);
  });

  test('a tier the catalog lacks is served by the fallback (a model or a tier name), else refused with 503', () => {
    const { model } = flatModel((view) => {
      view.policies['chat/acme'] = { modelTier: 'ultra', fallbackModel: 'standard' };
      view.policies['chat/globex'] = { modelTier: 'ultra' };
    });
    run(model, 10);
    expect(
      model
        .groundTruth()
        .served.filter((s) => s.tenant === 'acme' && s.route === 'chat')
        .map((s) => s.model),
    ).toEqual(['llama-3.1-70b-instruct', 'llama-3.1-70b-instruct']);
    expect(model.totals('globex', 'chat')).toMatchObject({ served: 0, rejectedByReason: { model_unavailable: 60 } });
  });

  test("region weights split a route's traffic in their proportions, within a request or two", () => {
    const { model } = flatModel((view) => (view.weights.chat = { 'us-east-1': 1, 'eu-west-1': 3 }));
    run(model, 120);
    const split = servedByRegion(model, 'acme', 'chat');
    expect(split['us-east-1']! + split['eu-west-1']!).toBe(1_200);
    expect(Math.abs(split['us-east-1']! - 300)).toBeLessThanOrEqual(2);
    const summarize = servedByRegion(model, 'acme', 'summarize');
    expect(Math.abs(summarize['us-east-1']! - 240)).toBeLessThanOrEqual(2);
  });

  test('weights that give no known region a share fall back to the default split instead of dropping traffic', () => {
    const { model } = flatModel((view) => (view.weights.chat = { 'ap-south-1': 1, 'us-east-1': 0 }));
    run(model, 60);
    const split = servedByRegion(model, 'acme', 'chat');
    expect(Math.abs(split['us-east-1']! - 300)).toBeLessThanOrEqual(2);
    expect(model.totals('acme', 'chat').rejected).toBe(0);
  });
});

describe('deployments', () => {
  // All 20 req/s on premium in us-east-1, no cache: the deployment sees exactly 20 arrivals a second.
  const usOnly = (view: FakeControlPlane) => {
    for (const route of ['chat', 'summarize']) view.weights[route] = { 'us-east-1': 1, 'eu-west-1': 0 };
    view.replicaCounts['llm-premium-us-east-1'] = 2;
  };
  const premiumUs = (model: PlatformModel) => model.deploymentStates().find((d) => d.name === 'llm-premium-us-east-1')!;

  test('load above capacity grows the queue; more replicas drain it and lower utilisation', () => {
    const { model, view } = flatModel(usOnly);
    run(model, 30);
    // 2 replicas × 8 req/s = 16 < 20: four more requests wait every second.
    expect(premiumUs(model)).toMatchObject({
      replicas: 2,
      gpus: 16,
      capacityRps: 16,
      offeredRps: 20,
      utilization: 1,
      queueDepth: 120,
    });
    view.replicaCounts['llm-premium-us-east-1'] = 4;
    run(model, 5);
    // 32 req/s of capacity: 12 of the backlog go each second.
    expect(premiumUs(model)).toMatchObject({ capacityRps: 32, utilization: 1, queueDepth: 60 });
    run(model, 5);
    expect(premiumUs(model)).toMatchObject({ queueDepth: 0, utilization: 1 });
    run(model, 1);
    expect(premiumUs(model)).toMatchObject({ queueDepth: 0, utilization: 20 / 32 });
  });

  test('cache hits never reach a GPU', () => {
    const { model } = flatModel((view) => {
      usOnly(view);
      view.replicaCounts['llm-premium-us-east-1'] = 4;
      view.policies.chat = { cacheMode: 'aggressive' };
    });
    run(model, 10);
    // chat: 16 a second, half from cache; summarize: 4.
    expect(premiumUs(model)).toMatchObject({ offeredRps: 12, utilization: 12 / 32 });
  });

  test('a deployment with no replicas queues everything and reports no utilisation', () => {
    const { model } = flatModel((view) => {
      usOnly(view);
      view.replicaCounts['llm-premium-us-east-1'] = 0;
    });
    run(model, 3);
    expect(premiumUs(model)).toMatchObject({ gpus: 0, capacityRps: 0, utilization: 0, queueDepth: 60 });
  });
});

describe('incidents', () => {
  test('a spend spike multiplies the matching traffic and its cost while it lasts, and nothing else', () => {
    const { model } = flatModel();
    const incident = model.injectIncident({
      kind: 'spend_spike',
      tenant: 'acme',
      route: 'chat',
      magnitude: 3,
      durationSeconds: 30,
    });
    expect(incident).toMatchObject({ id: 'inc-1', startsAtMs: START, endsAtMs: START + 30_000 });
    run(model, 30);
    expect(model.totals('acme', 'chat').requests).toBe(900);
    expect(model.incidents()).toEqual([expect.objectContaining({ id: 'inc-1', active: false })]);
    run(model, 30);
    expect(model.totals('acme', 'chat')).toMatchObject({ requests: 1_200 });
    expect(model.totals('acme', 'chat').costUsd).toBeCloseTo(1_200 * CHAT_PREMIUM_USD, 9);
    expect(model.totals('globex', 'chat').requests).toBe(360);
    expect(model.totals('acme', 'summarize').requests).toBe(240);
  });

  test('a cleared incident stops at once; an incident may be scheduled ahead', () => {
    const { model } = flatModel();
    const spike = model.injectIncident({ kind: 'spend_spike', tenant: 'globex', magnitude: 2 });
    const later = model.injectIncident({ kind: 'spend_spike', tenant: 'globex', magnitude: 5 }, START + 20_000);
    run(model, 10);
    expect(model.clearIncident(spike.id)).toMatchObject({ id: spike.id, endsAtMs: null });
    expect(model.clearIncident(spike.id)).toBeUndefined();
    run(model, 10);
    expect(model.totals('globex', 'chat').requests).toBe(120 + 60);
    run(model, 10);
    expect(model.totals('globex', 'chat').requests).toBe(180 + 300);
    expect(model.incidents()).toEqual([expect.objectContaining({ id: later.id, active: true })]);
  });

  test('a context blow-up multiplies prompt sizes; the route cap still bounds them', () => {
    const { model } = flatModel((view) => (view.policies['chat/globex'] = { maxInputTokens: 4_096 }));
    model.injectIncident({ kind: 'context_blowup', route: 'chat', magnitude: 4 });
    run(model, 10);
    expect(model.totals('acme', 'chat')).toMatchObject({
      served: 100,
      inputTokens: 100 * 4_800,
      outputTokens: 100 * 300,
    });
    expect(model.totals('globex', 'chat')).toMatchObject({ served: 60, inputTokens: 60 * 4_096 });
    expect(model.totals('acme', 'summarize').inputTokens).toBe(40 * 6_000);
  });

  test('a cache collapse takes its share of the hit ratio away', () => {
    const { model } = flatModel((view) => (view.policies.chat = { cacheMode: 'aggressive' }));
    model.injectIncident({ kind: 'cache_collapse', tenant: 'acme', magnitude: 0.5 });
    model.injectIncident({ kind: 'cache_collapse', tenant: 'globex', route: 'chat', magnitude: 1 });
    run(model, 40);
    const acme = servedByRegion(model, 'acme', 'chat');
    expect(model.totals('acme', 'chat').cacheHits).toBe(
      Object.values(acme).reduce((sum, n) => sum + Math.floor(n * 0.25), 0),
    );
    expect(model.totals('globex', 'chat').cacheHits).toBe(0);
    expect(model.cacheHitRatios()).toEqual(
      expect.arrayContaining([
        { tenant: 'acme', route: 'chat', ratio: 0.25 },
        { tenant: 'globex', route: 'chat', ratio: 0 },
      ]),
    );
  });

  test("GPU saturation divides a deployment's throughput, so a queue builds that scaling out drains", () => {
    const { model, view } = flatModel((v) => {
      for (const route of ['chat', 'summarize']) v.weights[route] = { 'us-east-1': 1, 'eu-west-1': 0 };
      v.replicaCounts['llm-premium-us-east-1'] = 4;
    });
    model.injectIncident({ kind: 'gpu_saturation', deployment: 'llm-premium-us-east-1', magnitude: 2 });
    run(model, 10);
    const state = () => model.deploymentStates().find((d) => d.name === 'llm-premium-us-east-1')!;
    expect(state()).toMatchObject({ capacityRps: 16, utilization: 1, queueDepth: 40 });
    view.replicaCounts['llm-premium-us-east-1'] = 8;
    run(model, 4);
    expect(state()).toMatchObject({ capacityRps: 32, queueDepth: 0 });
  });

  test('an incident naming something the platform does not have is refused with the field and the valid names', () => {
    const { model } = flatModel();
    const refusal = (inject: () => unknown): IncidentTargetError => {
      try {
        inject();
      } catch (error) {
        expect(error).toBeInstanceOf(IncidentTargetError);
        return error as IncidentTargetError;
      }
      throw new Error('expected an IncidentTargetError');
    };
    const tenant = refusal(() => model.injectIncident({ kind: 'spend_spike', tenant: 'hooli', magnitude: 2 }));
    expect([tenant.field, tenant.message]).toEqual([
      'tenant',
      'tenant hooli does not exist; known tenants: acme, globex',
    ]);
    const route = refusal(() => model.injectIncident({ kind: 'cache_collapse', route: 'fraud', magnitude: 1 }));
    expect([route.field, route.message]).toEqual([
      'route',
      'route fraud does not exist; known routes: chat, summarize',
    ]);
    const deployment = refusal(() =>
      model.injectIncident({ kind: 'gpu_saturation', deployment: 'llm-premium-ap-south-1', magnitude: 2 }),
    );
    expect(deployment.field).toBe('deployment');
    expect(deployment.message).toMatch(
      /^deployment llm-premium-ap-south-1 does not exist; known deployments: llm-premium-us-east-1, /,
    );
    expect(model.incidents()).toEqual([]);
  });
});

describe('latency', () => {
  /** Chat is 300 output tokens: time to first token + 300 × seconds per token, with no queue. */
  const CHAT_SECONDS = { premium: 0.6 + 300 * 0.03, standard: 0.35 + 300 * 0.015, distilled: 0.15 + 300 * 0.006 };

  interface Latency {
    requests: number;
    sum: number;
    counts: number[];
  }

  const latencyOf = (served: ServedTotals[], match: (s: ServedTotals) => boolean): Latency =>
    served.filter(match).reduce<Latency>(
      (total, s) => ({
        requests: total.requests + s.requests,
        sum: total.sum + s.latencySumSeconds,
        counts: total.counts.map((n, i) => n + s.latencyBucketCounts[i]!),
      }),
      { requests: 0, sum: 0, counts: new Array<number>(LATENCY_BUCKETS_SECONDS.length + 1).fill(0) },
    );
  const since = (now: Latency, before: Latency): Latency => ({
    requests: now.requests - before.requests,
    sum: now.sum - before.sum,
    counts: now.counts.map((n, i) => n - before.counts[i]!),
  });
  /** The upper bound of the bucket holding the q-quantile, as a reader of the histogram sees it. */
  const quantileBound = ({ counts, requests }: Latency, q: number): number => {
    let cumulative = 0;
    const index = counts.findIndex((n) => (cumulative += n) >= q * requests);
    return index < LATENCY_BUCKETS_SECONDS.length ? LATENCY_BUCKETS_SECONDS[index]! : Infinity;
  };
  const bucketOf = (seconds: number) => LATENCY_BUCKETS_SECONDS.findIndex((bound) => seconds <= bound);
  const chatOf = (tenant: string) => (s: ServedTotals) => s.tenant === tenant && s.route === 'chat';

  test.each(['premium', 'standard', 'distilled'] as const)(
    'with no queue, every %s miss takes time to first token plus decoding',
    (tier) => {
      const { model } = flatModel((view) => (view.policies.chat = { modelTier: tier }));
      run(model, 60);
      const chat = latencyOf(model.groundTruth().served, chatOf('acme'));
      expect(chat.requests).toBe(600);
      expect(chat.sum).toBeCloseTo(600 * CHAT_SECONDS[tier], 6);
      expect(chat.counts[bucketOf(CHAT_SECONDS[tier])]).toBe(600);
      expect(model.chat({ tenant: 'acme', route: 'chat', inputTokens: 10, contentKey: 'k' })).toMatchObject({
        served: true,
        cacheHit: false,
        latencySeconds: expect.closeTo(CHAT_SECONDS[tier], 9) as unknown,
      });
    },
  );

  test('on the same route and load, p95 is lowest on the distilled tier and highest on premium', () => {
    const p95 = (tier: string) => {
      const { model } = flatModel((view) => (view.policies.chat = { modelTier: tier }));
      run(model, 60);
      return quantileBound(
        latencyOf(model.groundTruth().served, (s) => s.route === 'chat'),
        0.95,
      );
    };
    expect([p95('distilled'), p95('standard'), p95('premium')]).toEqual([2, 5, 13]);
  });

  test('cache hits take cacheHitSeconds and pull the histogram down', () => {
    const { model } = flatModel((view) => (view.policies.chat = { cacheMode: 'aggressive' }));
    run(model, 60);
    const totals = model.totals('acme', 'chat');
    const chat = latencyOf(model.groundTruth().served, chatOf('acme'));
    expect(chat.counts[0]).toBe(totals.cacheHits);
    expect(chat.counts[bucketOf(CHAT_SECONDS.premium)]).toBe(600 - totals.cacheHits);
    expect(chat.sum).toBeCloseTo(totals.cacheHits * 0.02 + (600 - totals.cacheHits) * CHAT_SECONDS.premium, 6);
    expect(quantileBound(chat, 0.5)).toBe(0.05);
  });

  test('rejected requests have no latency: the histogram counts served requests only', () => {
    const { model } = flatModel((view) => (view.policies['chat/acme'] = { rateLimitRps: 4 }));
    run(model, 60);
    const chat = latencyOf(model.groundTruth().served, chatOf('acme'));
    expect(model.totals('acme', 'chat')).toMatchObject({ requests: 600, served: 240 });
    expect(chat.counts.reduce((sum, n) => sum + n, 0)).toBe(240);
    expect(chat.requests).toBe(240);
  });

  test("a saturated deployment's queue raises its p95 by queue depth ÷ capacity; draining it brings p95 back", () => {
    // All 20 req/s on premium in us-east-1 (capacity 8 req/s per replica), no cache.
    const { model, view } = flatModel((v) => {
      for (const route of ['chat', 'summarize']) v.weights[route] = { 'us-east-1': 1, 'eu-west-1': 0 };
      v.replicaCounts['llm-premium-us-east-1'] = 4;
    });
    const chat = () => latencyOf(model.groundTruth().served, (s) => s.route === 'chat');
    const window = (seconds: number) => {
      const before = chat();
      run(model, seconds);
      return since(chat(), before);
    };
    const healthy = window(10);
    expect(healthy.sum).toBeCloseTo(healthy.requests * CHAT_SECONDS.premium, 6);
    expect(quantileBound(healthy, 0.95)).toBe(13);

    // 2 replicas serve 16 req/s of the 20: the queue grows by 4 a second, and the 16 chat requests
    // of step k each wait the 4k queued before them ÷ 16 req/s.
    view.replicaCounts['llm-premium-us-east-1'] = 2;
    const saturated = window(30);
    const waited = Array.from({ length: 30 }, (_, k) => 16 * ((4 * k) / 16)).reduce((sum, w) => sum + w, 0);
    expect(saturated.sum).toBeCloseTo(saturated.requests * CHAT_SECONDS.premium + waited, 6);
    expect(quantileBound(saturated, 0.95)).toBe(20);
    const queued = model.deploymentStates().find((d) => d.name === 'llm-premium-us-east-1')!;
    expect(queued).toMatchObject({ queueDepth: 120, capacityRps: 16 });
    expect(model.chat({ tenant: 'acme', route: 'chat', inputTokens: 10, contentKey: 'k' })).toMatchObject({
      latencySeconds: expect.closeTo(CHAT_SECONDS.premium + 120 / 16, 9) as unknown,
    });

    // 4 replicas drain the 121 waiting in 11 s; after that nobody waits again.
    view.replicaCounts['llm-premium-us-east-1'] = 4;
    window(11);
    expect(model.deploymentStates().find((d) => d.name === 'llm-premium-us-east-1')).toMatchObject({ queueDepth: 0 });
    const drained = window(10);
    expect(drained.sum).toBeCloseTo(drained.requests * CHAT_SECONDS.premium, 6);
    expect(quantileBound(drained, 0.95)).toBe(13);
  });

  test('a deployment with no replicas makes every miss wait the cap; its hits are still fast', () => {
    const { model } = flatModel((view) => {
      view.weights.chat = { 'us-east-1': 1, 'eu-west-1': 0 };
      view.replicaCounts['llm-premium-us-east-1'] = 0;
      view.policies.chat = { cacheMode: 'aggressive' };
    });
    run(model, 10);
    const chat = latencyOf(model.groundTruth().served, chatOf('acme'));
    const hits = model.totals('acme', 'chat').cacheHits;
    expect(chat.counts[0]).toBe(hits);
    expect(chat.counts[LATENCY_BUCKETS_SECONDS.length]).toBe(100 - hits);
    expect(chat.sum).toBeCloseTo(hits * 0.02 + (100 - hits) * (CHAT_SECONDS.premium + MAX_QUEUE_WAIT_SECONDS), 6);
  });

  test('the same seed and clock give the same histogram, on the default platform too', () => {
    const histogram = (seed: number) => {
      const model = new PlatformModel({
        seed,
        startMs: START,
        controlPlane: fakeControlPlane(DEFAULT_CATALOG),
        catalog: DEFAULT_CATALOG,
      });
      run(model, 60);
      return model.groundTruth().served.map(({ tenant, route, region, latencySumSeconds, latencyBucketCounts }) => ({
        tenant,
        route,
        region,
        latencySumSeconds,
        latencyBucketCounts,
      }));
    };
    const first = histogram(3);
    expect(histogram(3)).toEqual(first);
    expect(histogram(4)).not.toEqual(first);
    // Lognormal answer sizes spread the premium tier's latencies over several buckets.
    const chat = first
      .filter((s) => s.route === 'chat')
      .reduce(
        (counts, s) => counts.map((n, i) => n + s.latencyBucketCounts[i]!),
        new Array<number>(LATENCY_BUCKETS_SECONDS.length + 1).fill(0),
      );
    expect(chat.filter((n) => n > 0).length).toBeGreaterThan(3);
  });
});

describe('live requests', () => {
  test('the same request gets the same completion size; max_tokens caps it; live requests leave the background series alone', () => {
    const { model } = flatModel();
    const { model: untouched } = flatModel();
    const request = { tenant: 'acme', route: 'chat', inputTokens: 42, contentKey: 'hello' };
    const first = model.chat(request);
    expect(first).toMatchObject({ served: true, inputTokens: 42, outputTokens: 300 });
    expect(model.chat({ ...request, maxTokens: 10 })).toMatchObject({ served: true, outputTokens: 10 });
    run(model, 20);
    run(untouched, 20);
    const background = (m: PlatformModel) => m.totals('globex', 'chat');
    expect(background(model)).toEqual(background(untouched));
    expect(model.totals('acme', 'chat').served).toBe(untouched.totals('acme', 'chat').served + 2);
  });

  test('a tenant outside the catalog is served and accounted like any other', () => {
    const { model } = flatModel();
    expect(model.chat({ tenant: 'hooli', route: 'summarize', inputTokens: 100, contentKey: 'x' })).toMatchObject({
      served: true,
      outputTokens: 400,
    });
    expect(model.totals('hooli', 'summarize')).toMatchObject({ served: 1, inputTokens: 100, outputTokens: 400 });
  });

  test('a catalog with a tier that has no deployment in a region is refused at construction', () => {
    const broken: Catalog = {
      ...FLAT,
      deployments: FLAT.deployments.filter((d) => d.name !== 'llm-distilled-eu-west-1'),
    };
    expect(() => flatModel(() => {}, broken)).toThrow(
      'invalid platform catalog: tier distilled (model llama-3.1-8b-instruct) has no deployment in region eu-west-1; add one to catalog.deployments',
    );
  });
});
