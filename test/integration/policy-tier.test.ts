// The policy activities reading live numbers: policy.tier measures the budget's burn rate and the
// route's p95 latency in a real Prometheus, reads the route's current tier from the gateway
// simulator, and asks the built-in rules or a real OPA; policy.check reads the tenant's tokens
// today and its quota for the quota policy.
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import type { Facts } from '../../activities/action-contract';
import type { Target } from '../../alerts/target';
import { createPolicyActivities, type PolicyDeps } from '../../policy/policy-activities';
import type { GatewayAdapter } from '../../gateway/adapter';
import type { Severity } from '../../playbook/playbook-schema';
import { PrometheusClient } from '../../prometheus/prometheus-client';
import { TEST_GUARDRAILS } from '../helpers/activities';
import { loggedDecision, startPolicyServer, type RunningOpa } from '../helpers/opa';
import { testTarget } from '../helpers/policy';
import { freePort } from '../helpers/ports';
import type { RunningPrometheus } from '../helpers/prometheus';
import { startSimulator, type RunningSimulator } from '../helpers/simulator';
import { startTierMetricsPrometheus, TIER_BUDGETS, TIER_WINDOW } from '../helpers/tier-metrics';
import { waitFor } from '../helpers/wait';

let prometheus: RunningPrometheus;
let simulator: RunningSimulator;
let opa: RunningOpa;
let deps: PolicyDeps;

const chatAcme = testTarget('route', { route: 'chat', tenant: 'acme' });
const logger = new DefaultLogger('ERROR');
const run = <Request, Result>(activity: (request: Request) => Promise<Result>, request: Request): Promise<Result> =>
  new MockActivityEnvironment(undefined, { logger }).run(activity, request);
const failureOf = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (error: unknown) => error,
  );

beforeAll(async () => {
  // One at a time, so that afterAll stops whatever started when a later one cannot.
  opa = await startPolicyServer();
  simulator = await startSimulator();
  prometheus = await startTierMetricsPrometheus();
  deps = {
    guardrails: TEST_GUARDRAILS,
    prometheus: new PrometheusClient({ baseUrl: prometheus.url, timeoutMs: 5_000 }),
    gateway: simulator.client,
    budgets: TIER_BUDGETS,
  };
});
afterAll(async () => {
  await prometheus?.close();
  await simulator?.close();
  await opa?.close();
});

describe('policy.tier: which tier, from live numbers', () => {
  const ask = (
    params: Record<string, unknown>,
    { target = chatAcme, severity = 'S2', on = deps }: { target?: Target; severity?: Severity; on?: PolicyDeps } = {},
  ): Promise<Facts> =>
    run(createPolicyActivities(on)['policy.tier'], {
      target,
      params: { window: TIER_WINDOW, latencySloMs: 4000, ...params },
      severity,
    });

  test('a budget burning 3x its pace moves the route to distilled when the expected latency keeps the SLO; every number it used is a fact', async () => {
    const facts = await ask({ budget: 'hot', expectedP95LatencyMs: { distilled: 1200 } });
    expect(facts).toEqual({
      tier: 'distilled',
      changes: true,
      cheaper: true,
      currentTier: 'premium',
      allowed: true,
      burnRate: expect.any(Number) as unknown,
      p95LatencyMs: 3000,
      latencySloMs: 4000,
      tierP95LatencyMs: { standard: 2000, distilled: 1200 },
      tierLatencyFrom: { standard: 'measured', distilled: 'expected' },
      reason: expect.stringMatching(
        /^burn rate [\d.]+ wants distilled \(standard from 1, distilled from 2\); its p95 1200 ms keeps the 4000 ms SLO$/,
      ) as unknown,
      source: 'builtin',
    });
    // $1 a second against $864,000 in 30 days; the exporter's counter moves every 100 ms.
    expect(facts.burnRate as number).toBeGreaterThan(2.9);
    expect(facts.burnRate as number).toBeLessThan(3.1);
  });

  test('a window longer than the data Prometheus holds measures the burn over the data, not as if the rest of the window cost nothing', async () => {
    const { burnRate } = await ask({ budget: 'hot', window: '1h', expectedP95LatencyMs: { distilled: 1200 } });
    // rate() over 1h of a series seconds old would read about 0.01.
    expect(burnRate as number).toBeGreaterThan(2.8);
    expect(burnRate as number).toBeLessThan(3.2);
  });

  test('a cheaper tier whose latency would break the SLO is passed over for one that keeps it; a tier nobody can vouch for is never chosen', async () => {
    expect(await ask({ budget: 'hot', latencySloMs: 2500, expectedP95LatencyMs: { distilled: 3000 } })).toMatchObject({
      tier: 'standard',
      changes: true,
      reason: expect.stringMatching(
        /, but its p95 \(3000 ms\) would break the 2500 ms SLO; standard keeps it at 2000 ms$/,
      ) as unknown,
    });
    expect(await ask({ budget: 'hot' })).toMatchObject({
      tier: 'standard',
      tierP95LatencyMs: { standard: 2000 },
      reason: expect.stringMatching(
        /, but its p95 is not known; standard keeps the 4000 ms SLO at 2000 ms$/,
      ) as unknown,
    });
  });

  test("the tenant's own latency counts, other tenants of the route tell the other tiers, and a cheaper tier moves back up once the budget cools", async () => {
    // globex's chat runs on standard, at 2 s; acme's on premium, at 3 s.
    await simulator.client.patchRoutePolicy(
      { route: 'chat', tenant: 'globex' },
      { modelTier: 'standard' },
      { idempotencyKey: 'tier-test-globex' },
    );
    const chatGlobex = testTarget('route', { route: 'chat', tenant: 'globex' });
    expect(await ask({ budget: 'warm' }, { target: chatGlobex })).toMatchObject({
      tier: 'standard',
      changes: false,
      currentTier: 'standard',
      p95LatencyMs: 2000,
    });
    expect(await ask({ budget: 'cool' }, { target: chatGlobex })).toMatchObject({
      tier: 'premium',
      changes: true,
      cheaper: false,
      tierP95LatencyMs: { premium: 3000 },
      tierLatencyFrom: { premium: 'measured' },
      reason: expect.stringMatching(
        /wants premium \(standard from 1, distilled from 2\); its p95 3000 ms keeps the 4000 ms SLO$/,
      ) as unknown,
    });
    // The whole route: half of acme's requests and 72.5% of all are under 2 s, 97.5% under 3 s.
    expect(
      await ask(
        { budget: 'cool', route: 'chat' },
        { target: testTarget('deployment', { namespace: 'llm', deployment: 'vllm' }) },
      ),
    ).toMatchObject({
      tier: 'premium',
      changes: false,
      currentTier: 'premium',
      p95LatencyMs: 2900,
    });
  });

  test('a protected route is never tiered, however fast the budget burns', async () => {
    expect(
      await ask(
        { budget: 'hot', expectedP95LatencyMs: { distilled: 100 } },
        { target: testTarget('route', { route: 'core', tenant: 'internal' }) },
      ),
    ).toMatchObject({
      tier: 'premium',
      changes: false,
      allowed: false,
      reason: 'route core is protected (engine.protectedRoutes): it is never tiered, so it stays on premium',
    });
  });

  test('OPA decides when configured, and its decision id is a fact; when it cannot answer, S1 stays put and S2 falls back to the built-in rules', async () => {
    const params = { budget: 'hot', expectedP95LatencyMs: { distilled: 1200 } };
    const withOpa = await ask(params, { on: { ...deps, opa: { url: opa.url, timeoutMs: 5_000 } } });
    expect(withOpa).toMatchObject({
      tier: 'distilled',
      changes: true,
      source: 'opa',
      decisionId: expect.stringMatching(/^[0-9a-f-]{36}$/) as unknown,
    });
    expect(await loggedDecision(opa, withOpa.decisionId as string)).toMatchObject({
      path: 'finops_soar/tier/decision',
    });

    const down = { ...deps, opa: { url: `http://127.0.0.1:${await freePort()}`, timeoutMs: 2_000 } };
    expect(await ask(params, { on: down, severity: 'S1' })).toMatchObject({
      tier: 'premium',
      changes: false,
      allowed: false,
      source: 'opa',
      reason: expect.stringMatching(
        /^OPA could not answer \(.*\), and an S1 change fails closed: route chat stays on premium$/,
      ) as unknown,
    });
    expect(await ask(params, { on: down, severity: 'S2' })).toMatchObject({
      tier: 'distilled',
      source: 'builtin',
      reason: expect.stringMatching(
        /^OPA could not answer \(.*\), so the built-in rules decided: burn rate/,
      ) as unknown,
    });
    // A request without a severity is treated as S1.
    expect(
      await run(createPolicyActivities(down)['policy.tier'], {
        target: chatAcme,
        params: { ...params, window: TIER_WINDOW, latencySloMs: 4000 },
      }),
    ).toMatchObject({ tier: 'premium', changes: false });
  });

  test('what cannot be measured or is misnamed fails the check with what to fix, and is not retried', async () => {
    const noTraffic = await failureOf(
      ask({ budget: 'hot' }, { target: testTarget('route', { route: 'code-assist', tenant: 'acme' }) }),
    );
    expect(noTraffic).toBeInstanceOf(ApplicationFailure);
    expect(noTraffic).toMatchObject({
      nonRetryable: true,
      type: 'NoLatencyData',
      message:
        'policy.tier: route code-assist (tenant acme) served no request in the last 10s (histogram_quantile(0.95, sum by (le) (rate(llm_request_duration_seconds_bucket{route="code-assist",tenant="acme"}[10s]))) gives nothing); check that Prometheus scrapes the gateway\'s llm_request_duration_seconds_bucket, or widen params.window',
    });
    expect(await failureOf(ask({ budget: 'idle' }))).toMatchObject({
      nonRetryable: true,
      type: 'NoSpendData',
      message: expect.stringMatching(
        /^policy\.tier: no spend matches time\(\) - min\(min_over_time\(timestamp\(inference_cost_usd_total\{route="search"\}\)\[10s:100ms\]\)\); check finops\.budgets\.idle\.selector/,
      ) as unknown,
    });
    expect(await failureOf(ask({ budget: 'nope' }))).toMatchObject({
      nonRetryable: true,
      type: 'InvalidParams',
      message:
        'policy.tier: no budget named nope; define finops.budgets.nope in the config (defined: hot, warm, cool, idle)',
    });
    expect(await failureOf(ask({ budget: 'hot', window: 'soon' }))).toMatchObject({
      nonRetryable: true,
      type: 'InvalidParams',
      message: expect.stringMatching(/^policy\.tier: invalid params: window/) as unknown,
    });
  });
});

describe("policy.check: the tenant's tokens today against its quota", () => {
  test("reads the target tenant's use and quota for a change that could raise its traffic, and refuses to lift a limit once the quota is used up", async () => {
    await simulator.client.patchTenantQuota('acme', { tokensPerDay: 4000 }, { idempotencyKey: 'quota-test-acme' });
    await waitFor(
      'tokens today in Prometheus',
      async () =>
        ((await deps.prometheus.query('sum(increase(llm_tokens_total{tenant="acme"}[1m]))'))[0]?.value ?? 0) > 4000 ||
        undefined,
    );
    const quotaReads: string[] = [];
    const gateway: Pick<GatewayAdapter, 'getRoutePolicy' | 'getTenantQuota'> = {
      getRoutePolicy: (scope) => simulator.client.getRoutePolicy(scope),
      getTenantQuota: (tenant) => {
        quotaReads.push(tenant);
        return simulator.client.getTenantQuota(tenant);
      },
    };
    const { 'policy.check': check } = createPolicyActivities({ ...deps, gateway });
    const lifted = await run(check, {
      action: 'gateway.setRoutePolicy',
      target: chatAcme,
      params: { policy: { rateLimitRps: null } },
      severity: 'S2',
    });
    expect(lifted).toMatchObject({
      allowed: false,
      denials: [
        {
          rule: 'tenant_over_quota',
          message: expect.stringMatching(/^tenant acme has used \d+ of its 4000 tokens today/) as unknown,
        },
      ],
    });
    expect(
      await run(check, {
        action: 'gateway.setRoutePolicy',
        target: chatAcme,
        params: { policy: { rateLimitRps: 5 } },
        severity: 'S2',
      }),
    ).toMatchObject({ allowed: true });
    await run(check, {
      action: 'kubernetes.scaleDeployment',
      target: testTarget('deployment', { namespace: 'llm', deployment: 'vllm' }),
      params: { addReplicas: 1 },
      severity: 'S2',
    });
    // Only the lifted limit could raise acme's traffic: the new limit and the scale-out read nothing.
    expect(quotaReads).toEqual(['acme']);
  });
});
