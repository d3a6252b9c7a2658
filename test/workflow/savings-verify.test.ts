// Savings attribution and verify-after-acting on a real Temporal dev server, measuring through a
// real Prometheus that scrapes a local exporter the tests drive: the run's ledger, each change's
// before and after rates, the report and the engine metrics; a verify step that sees the metric
// move (the harsher steps are skipped) or not (the run escalates at once).
import type { GatewayAdapter } from '../../gateway/adapter';
import { EngineMetrics } from '../../observability/engine-metrics';
import { alertNotificationSignal, statusQuery } from '../../workflows/playbook-run/definitions';
import { alert, resolved } from '../helpers/alerts';
import { recordHistoryIfAsked } from '../helpers/histories';
import { startPrometheus, type RunningPrometheus } from '../helpers/prometheus';
import { waitFor } from '../helpers/wait';
import { notification, startHarness, type Harness } from '../helpers/workflow-harness';

const QUEUE = 'savings-and-verify';
const CACHE_CUTS_COST = 'savings-cache-cuts-cost';
let harness: Harness;
let prometheus: RunningPrometheus;
const metrics = new EngineMetrics();

/** The exporter's series: the route's cost in $/hour and its input tokens per request. */
const platform = { costUsdPerHour: 100, tokensPerRequest: 3000 };
const exposition = () => `# TYPE test_cost_usd_per_hour gauge
test_cost_usd_per_hour{route="chat",tenant="acme"} ${platform.costUsdPerHour}
# TYPE test_tokens_per_request gauge
test_tokens_per_request{route="chat",tenant="acme"} ${platform.tokensPerRequest}
`;
const scraped = async (query: string, value: number) => {
  prometheus.metrics.text = exposition();
  await waitFor(`${query} = ${value} in Prometheus`, async () => {
    const body = (await (await fetch(`${prometheus.url}/api/v1/query?query=${encodeURIComponent(query)}`)).json()) as {
      data: { result: Array<{ value: [number, string] }> };
    };
    return Number(body.data.result[0]?.value[1]) === value || undefined;
  });
};
const setCost = (usdPerHour: number) => {
  platform.costUsdPerHour = usdPerHour;
  return scraped('max(test_cost_usd_per_hour{route="chat"})', usdPerHour);
};
const setTokens = (perRequest: number) => {
  platform.tokensPerRequest = perRequest;
  return scraped('max(test_tokens_per_request{route="chat"})', perRequest);
};

/**
 * The simulator's gateway, where turning the cache on cuts the route's cost to $60/h: the change
 * answers once Prometheus has scraped the lower rate. The run samples the rate on its own clock, so
 * only this way does every sample before the change read $100/h and every sample after it $60/h.
 */
const cacheCutsCost = (gateway: GatewayAdapter): GatewayAdapter => ({
  getRoutePolicy: (scope) => gateway.getRoutePolicy(scope),
  async patchRoutePolicy(scope, patch, options) {
    const change = await gateway.patchRoutePolicy(scope, patch, options);
    if (patch.cacheMode === 'aggressive') await setCost(60);
    return change;
  },
  getTenantQuota: (tenant) => gateway.getTenantQuota(tenant),
  patchTenantQuota: (tenant, patch, options) => gateway.patchTenantQuota(tenant, patch, options),
  getRegionWeights: (route) => gateway.getRegionWeights(route),
  setRegionWeights: (route, update, options) => gateway.setRegionWeights(route, update, options),
});

beforeAll(async () => {
  harness = await startHarness();
  prometheus = await startPrometheus(exposition());
  await harness.startWorker(QUEUE, { prometheusUrl: prometheus.url, metrics });
  await harness.startWorker(CACHE_CUTS_COST, {
    gateway: cacheCutsCost(harness.simulator.client),
    prometheusUrl: prometheus.url,
    metrics,
  });
});
afterAll(async () => {
  await harness?.close();
  await prometheus?.close();
});
beforeEach(async () => {
  await setCost(100);
  await setTokens(3000);
});

const COST_RATE = `max(test_cost_usd_per_hour{route="{{ labels.route }}",tenant="{{ labels.tenant }}"})`;
const TOKENS = `max(test_tokens_per_request{route="{{ labels.route }}",tenant="{{ labels.tenant }}"})`;

const SAVING = `
name: cap-with-savings
description: caps the context and attributes what it saves
severity: S2
match: [alertname="LLMInputTokensPerRequestHigh"]
target: route
savings:
  costRate: '${COST_RATE}'
  # Longer than the cache step takes to start (its own sample before the change reads $100/h), so
  # the first sample after the cap is the cache's $60/h.
  every: 2s
  reportTo: [finops]
steps:
  - id: cap-context
    action: gateway.setRoutePolicy
    params: { policy: { maxInputTokens: 4000 } }
  - id: cache
    action: gateway.setRoutePolicy
    params: { policy: { cacheMode: aggressive } }
`;

const savedUsdMetric = async (playbook: string) =>
  (await metrics.registry.getSingleMetric('finops_soar_saved_usd_total')!.get()).values.find(
    (v) => v.labels.playbook === playbook,
  )?.value;

test('a run attributes savings: the rate before its first change, each change before and after, the dollars saved, reported and counted at rollback', async () => {
  const firing = alert({ alertname: 'LLMInputTokensPerRequestHigh', severity: 'S2', route: 'chat', tenant: 'acme' });
  const handle = await harness.fire(SAVING, firing, { taskQueue: CACHE_CUTS_COST, cooldownMs: 300 });
  // A change's "after" rate is the first sample a whole interval after it: the first sample of the
  // lower rate can come before the cache's interval is over. Wait until both changes have theirs.
  const mitigated = await waitFor('an after rate for both changes', async () => {
    const current = await handle.query(statusQuery);
    return current.applied.length === 2 && current.applied.every((change) => change.costAfterUsdPerHour !== null)
      ? current
      : undefined;
  });
  expect(mitigated.savings).toMatchObject({ baseline: { usdPerHour: 100 }, savedUsdPerHour: 40, note: null });
  expect(mitigated.savings!.nextAt).not.toBeNull();
  expect(
    mitigated.applied.map(({ stepId, costBeforeUsdPerHour, costAfterUsdPerHour }) => [
      stepId,
      costBeforeUsdPerHour,
      costAfterUsdPerHour,
    ]),
  ).toEqual([
    ['cap-context', 100, 60],
    ['cache', 100, 60],
  ]);

  await handle.signal(alertNotificationSignal, notification(resolved(firing)));
  const summary = await handle.result();
  expect(summary.state).toBe('rolled-back');
  const ledger = summary.savings!;
  // Saved: $40/h from the sample of the lower rate on; between the baseline and that sample the
  // trapezoid counts half. So the total lies between those two bounds.
  const hours = (from: string, to: string) => (Date.parse(to) - Date.parse(from)) / 3_600_000;
  expect(ledger.savedUsdPerHour).toBe(40);
  expect(ledger.latest!.usdPerHour).toBe(60);
  expect(ledger.nextAt).toBeNull();
  expect(ledger.savedUsd).toBeGreaterThan(0);
  expect(ledger.savedUsd).toBeLessThanOrEqual(
    Math.ceil(40 * hours(ledger.baseline!.at, ledger.latest!.at) * 100) / 100,
  );

  const report = harness.notifierLog.find((line) =>
    (line.notification as { to?: string[] } | undefined)?.to?.includes('finops'),
  );
  expect((report!.notification as { message: string }).message).toMatch(
    /^cap-with-savings on route=chat,tenant=acme rolled back after [\d.]+ h of changes: cost rate \$60\/h against \$100\/h before the first change: saving \$40\/h, \$[\d.]+ saved so far\.$/,
  );
  expect(await savedUsdMetric('cap-with-savings')).toBeCloseTo(ledger.savedUsd, 2);
  recordHistoryIfAsked(harness.env.address, handle, 'savings-attributed');
});

test('without a cost rate before the first change, later samples attribute nothing', async () => {
  prometheus.metrics.text = '';
  await waitFor('the series gone from Prometheus', async () => {
    const body = (await (await fetch(`${prometheus.url}/api/v1/query?query=test_cost_usd_per_hour`)).json()) as {
      data: { result: unknown[] };
    };
    return body.data.result.length === 0 || undefined;
  });
  const firing = alert({
    alertname: 'LLMInputTokensPerRequestHigh',
    severity: 'S2',
    route: 'chat',
    tenant: 'acme',
    model: 'no-baseline',
  });
  const handle = await harness.fire(SAVING, firing, { taskQueue: QUEUE, cooldownMs: 300 });
  await waitFor('both changes', async () => (await handle.query(statusQuery)).applied.length === 2 || undefined);
  await setCost(60);
  await waitFor(
    'the note',
    async () => (await handle.query(statusQuery)).savings?.note?.startsWith('no baseline') || undefined,
  );
  await handle.signal(alertNotificationSignal, notification(resolved(firing)));
  const summary = await handle.result();
  expect(summary.savings).toMatchObject({ baseline: null, savedUsd: 0, savedUsdPerHour: null });
  expect(summary.applied.map(({ costBeforeUsdPerHour }) => costBeforeUsdPerHour)).toEqual([null, null]);
});

const VERIFYING = (name: string, within: string) => `
name: ${name}
description: caps the context, checks it worked, and only then goes further
severity: S2
family: ${name}
match: [alertname="LLMInputTokensPerRequestHigh"]
target: route
escalation: { after: 1h, to: ${name}-s1 }
steps:
  - id: cap-context
    action: gateway.setRoutePolicy
    params: { policy: { maxInputTokens: 2000 } }
  - id: tokens-fell
    verify:
      measure: { check: prometheus.query, params: { query: '${TOKENS}' } }
      expect: { below: 2500 }
      within: ${within}
      every: 1s
`;
const HARSHER = (name: string) => `
name: ${name}-s1
description: tiers the route down
severity: S1
family: ${name}
target: route
steps:
  - id: tier-down
    action: gateway.setRoutePolicy
    params: { policy: { modelTier: distilled } }
`;
const WITH_NEXT_STEP = (name: string) => `${VERIFYING(name, '30s')}
  - id: compress
    action: gateway.setRoutePolicy
    params: { policy: { promptCompression: true } }
`;

test('a verify step that sees the metric move skips the harsher steps after it', async () => {
  const firing = alert({
    alertname: 'LLMInputTokensPerRequestHigh',
    severity: 'S2',
    route: 'chat',
    tenant: 'acme',
    model: 'verified',
  });
  const handle = await harness.fire([WITH_NEXT_STEP('verified'), HARSHER('verified')], firing, {
    taskQueue: QUEUE,
    cooldownMs: 300,
  });
  await waitFor(
    'the verify step measuring',
    async () => (await handle.query(statusQuery)).currentStep === 'tokens-fell' || undefined,
  );
  await setTokens(1800);
  await waitFor('the run mitigated', () => harness.stateOf(handle, 'mitigated'));
  const status = await handle.query(statusQuery);
  expect(status.verifications).toEqual([
    expect.objectContaining({ stepId: 'tokens-fell', moved: true, value: 1800, reason: 'value is 1800, below 2500' }),
  ]);
  expect(status.skipped).toEqual([
    { stepId: 'compress', reason: 'not needed: tokens-fell verified value is 1800, below 2500' },
  ]);
  expect(status.applied.map(({ stepId }) => stepId)).toEqual(['cap-context']);
  expect(status.escalation).toBeNull();
  await handle.signal(alertNotificationSignal, notification(resolved(firing)));
  expect((await handle.result()).state).toBe('rolled-back');
  recordHistoryIfAsked(harness.env.address, handle, 'verify-moved');
});

test('a verify step that sees nothing move goes on to the next step', async () => {
  const firing = alert({
    alertname: 'LLMInputTokensPerRequestHigh',
    severity: 'S2',
    route: 'chat',
    tenant: 'acme',
    model: 'next-step',
  });
  const handle = await harness.fire(
    [WITH_NEXT_STEP('next-step').replace('within: 30s', 'within: 2s'), HARSHER('next-step')],
    firing,
    { taskQueue: QUEUE, cooldownMs: 300 },
  );
  await waitFor('the run mitigated', () => harness.stateOf(handle, 'mitigated'));
  const status = await handle.query(statusQuery);
  expect(status.verifications).toEqual([
    expect.objectContaining({
      stepId: 'tokens-fell',
      moved: false,
      value: 3000,
      reason: 'not below 2500 within 2s: value is still 3000',
    }),
  ]);
  expect(status.applied.map(({ stepId }) => stepId)).toEqual(['cap-context', 'compress']);
  // More steps followed, so the escalation keeps its own delay.
  expect(status.escalation).toBeNull();
  await handle.signal(alertNotificationSignal, notification(resolved(firing)));
  expect((await handle.result()).state).toBe('rolled-back');
});

test('a last verify step that sees nothing move escalates to the next tier at once', async () => {
  const firing = alert({
    alertname: 'LLMInputTokensPerRequestHigh',
    severity: 'S2',
    route: 'chat',
    tenant: 'acme',
    model: 'escalated',
  });
  const handle = await harness.fire([VERIFYING('escalated', '2s'), HARSHER('escalated')], firing, {
    taskQueue: QUEUE,
    cooldownMs: 300,
  });
  await waitFor('the escalation', async () => (await handle.query(statusQuery)).applied.length === 2 || undefined);
  const status = await handle.query(statusQuery);
  expect(status.escalation).toMatchObject({
    to: 'escalated-s1',
    reason:
      'the steps of escalated did not move the metric (tokens-fell: not below 2500 within 2s: value is still 3000)',
  });
  expect(status.applied.map(({ stepId, summary }) => [stepId, summary])).toEqual([
    ['cap-context', 'route chat (tenant acme): maxInputTokens unset → 2000'],
    ['escalated-s1/tier-down', expect.stringContaining('modelTier')],
  ]);
  await handle.signal(alertNotificationSignal, notification(resolved(firing)));
  expect((await handle.result()).state).toBe('rolled-back');
  recordHistoryIfAsked(harness.env.address, handle, 'verify-escalated');
});
