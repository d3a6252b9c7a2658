// Runs asking OPA before each change, on a real Temporal dev server with the real OPA serving
// policy/rego/: the decision id goes into the run and is in OPA's decision log; a change OPA refuses
// is skipped with its reason; an S1 change OPA cannot answer for does not run (fail closed). And
// runs asking "which tier" from live numbers in a real Prometheus, whose answer picks the tier step.
import { alertNotificationSignal, statusQuery } from '../../workflows/playbook-run/definitions';
import { TEST_FINOPS } from '../helpers/activities';
import { alert, resolved } from '../helpers/alerts';
import { recordHistoryIfAsked } from '../helpers/histories';
import { loggedDecision, startPolicyServer, type RunningOpa } from '../helpers/opa';
import { freePort } from '../helpers/ports';
import type { RunningPrometheus } from '../helpers/prometheus';
import { startTierMetricsPrometheus, TIER_BUDGETS, TIER_WINDOW } from '../helpers/tier-metrics';
import { waitFor } from '../helpers/wait';
import { notification, startHarness, type Harness } from '../helpers/workflow-harness';

const WITH_OPA = 'policy-with-opa';
const OPA_DOWN = 'policy-opa-down';
// Workers whose tier checks measure in a Prometheus scraping test/helpers/tier-metrics.ts.
const TIERS_WITH_OPA = 'policy-tiers-with-opa';
const TIERS_OPA_DOWN = 'policy-tiers-opa-down';
let harness: Harness;
let opa: RunningOpa;
let prometheus: RunningPrometheus;

beforeAll(async () => {
  harness = await startHarness();
  opa = await startPolicyServer();
  prometheus = await startTierMetricsPrometheus();
  const down = `http://127.0.0.1:${await freePort()}`;
  const finops = { ...TEST_FINOPS, budgets: TIER_BUDGETS };
  await harness.startWorker(WITH_OPA, { opaUrl: opa.url });
  await harness.startWorker(OPA_DOWN, { opaUrl: down });
  await harness.startWorker(TIERS_WITH_OPA, { opaUrl: opa.url, prometheusUrl: prometheus.url, finops });
  await harness.startWorker(TIERS_OPA_DOWN, { opaUrl: down, prometheusUrl: prometheus.url, finops });
});
afterAll(async () => {
  await harness?.close();
  await opa?.close();
  await prometheus?.close();
});

const playbook = (severity: 'S1' | 'S2', route: string) => `
name: policed-${severity.toLowerCase()}
description: cap the context, then tier down
severity: ${severity}
match: [alertname="LLMSpendBurnRateHigh"]
target: route
steps:
  - id: cap-context
    action: gateway.setRoutePolicy
    params: { policy: { maxInputTokens: 4096 } }
  - id: tier-protected
    action: gateway.setRoutePolicy
    params: { route: ${route}, policy: { modelTier: distilled } }
`;

test("OPA's decision id is recorded with each change it allowed, and a change it refuses is skipped with its reason and id", async () => {
  const firing = alert({ alertname: 'LLMSpendBurnRateHigh', severity: 'S2', route: 'chat', tenant: 'acme' });
  const handle = await harness.fire(playbook('S2', 'fraud'), firing, { taskQueue: WITH_OPA, cooldownMs: 300 });
  await waitFor('the run mitigated', () => harness.stateOf(handle, 'mitigated'));
  const status = await handle.query(statusQuery);
  expect(status.applied).toHaveLength(1);
  const { policy } = status.applied[0]!;
  expect(policy?.source).toBe('opa');
  expect(policy?.decisionId).toMatch(/^[0-9a-f-]{36}$/);
  expect(await loggedDecision(opa, policy!.decisionId!)).toMatchObject({ path: 'finops_soar/action/decision' });
  expect(status.skipped.map(({ stepId }) => stepId)).toEqual(['tier-protected']);
  expect(status.skipped[0]!.reason).toMatch(/^refused: .*route fraud is protected.*\(OPA decision [0-9a-f-]{36}\)$/);
  expect(harness.simulator.store.get({ route: 'fraud', tenant: 'acme' }).policy.modelTier).toBeUndefined();

  await handle.signal(alertNotificationSignal, notification(resolved(firing)));
  expect((await handle.result()).state).toBe('rolled-back');
  recordHistoryIfAsked(harness.env.address, handle, 'policy-opa');
});

test('an S1 change OPA cannot answer for does not run', async () => {
  const firing = alert({ alertname: 'LLMSpendBurnRateHigh', severity: 'S1', route: 'chat', tenant: 'globex' });
  const handle = await harness.fire(playbook('S1', 'search'), firing, { taskQueue: OPA_DOWN, cooldownMs: 300 });
  await waitFor('the run mitigated', () => harness.stateOf(handle, 'mitigated'));
  const status = await handle.query(statusQuery);
  expect(status.applied).toEqual([]);
  expect(status.skipped.map(({ stepId }) => stepId)).toEqual(['cap-context', 'tier-protected']);
  expect(status.skipped[0]!.reason).toMatch(
    /^refused: OPA could not answer \(.*\), and an S1 change fails closed: gateway\.setRoutePolicy on route=chat,tenant=globex does not run$/,
  );
  expect(harness.changesFor('chat', 'globex')).toEqual([]);
  await handle.signal(alertNotificationSignal, notification(resolved(firing)));
  expect((await handle.result()).state).toBe('rolled-back');
});

test('an S2 change OPA cannot answer for is decided by the built-in rules, which say so', async () => {
  const firing = alert({ alertname: 'LLMSpendBurnRateHigh', severity: 'S2', route: 'chat', tenant: 'initech' });
  const handle = await harness.fire(playbook('S2', 'fraud'), firing, { taskQueue: OPA_DOWN, cooldownMs: 300 });
  await waitFor('the run mitigated', () => harness.stateOf(handle, 'mitigated'));
  const status = await handle.query(statusQuery);
  expect(status.applied.map(({ stepId, policy }) => [stepId, policy?.source])).toEqual([['cap-context', 'builtin']]);
  expect(status.applied[0]!.policy!.reason).toMatch(/OPA could not answer/);
  await handle.signal(alertNotificationSignal, notification(resolved(firing)));
  expect((await handle.result()).state).toBe('rolled-back');
});

const tiered = (severity: 'S1' | 'S2') => `
name: tiered-${severity.toLowerCase()}
description: serve the tenant from the tier the policy names, from the budget's burn rate and the route's latency
severity: ${severity}
match: [alertname="LLMSpendBurnRateHigh"]
target: route
steps:
  - id: which-tier
    check: policy.tier
    params: { budget: hot, latencySloMs: 4000, window: ${TIER_WINDOW}, expectedP95LatencyMs: { distilled: 1200 } }
  - id: tier-standard
    when: { facts: [{ fact: which-tier.tier, equals: standard }, { fact: which-tier.changes, equals: true }] }
    action: gateway.setRoutePolicy
    params: { policy: { modelTier: standard, fallbackModel: premium } }
  - id: tier-distilled
    when: { facts: [{ fact: which-tier.tier, equals: distilled }, { fact: which-tier.changes, equals: true }] }
    action: gateway.setRoutePolicy
    params: { policy: { modelTier: distilled, fallbackModel: premium } }
`;

test("the tier policy's answer, from live burn rate and latency, picks the tier step; its decision id and numbers are in the run", async () => {
  const firing = alert({ alertname: 'LLMSpendBurnRateHigh', severity: 'S2', route: 'chat', tenant: 'acme' });
  const handle = await harness.fire(tiered('S2'), firing, { taskQueue: TIERS_WITH_OPA, cooldownMs: 300 });
  await waitFor('the run mitigated', () => harness.stateOf(handle, 'mitigated'));
  const status = await handle.query(statusQuery);
  const answer = status.facts['which-tier'] as Record<string, unknown>;
  expect(answer).toMatchObject({
    tier: 'distilled',
    changes: true,
    currentTier: 'premium',
    p95LatencyMs: 3000,
    tierP95LatencyMs: { standard: 2000, distilled: 1200 },
    source: 'opa',
  });
  expect(await loggedDecision(opa, answer.decisionId as string)).toMatchObject({ path: 'finops_soar/tier/decision' });
  expect(status.applied.map(({ stepId, summary }) => [stepId, summary])).toEqual([
    ['tier-distilled', 'route chat (tenant acme): modelTier unset → "distilled", fallbackModel unset → "premium"'],
  ]);
  expect(status.skipped).toEqual([
    expect.objectContaining({ stepId: 'tier-standard', reason: 'which-tier.tier is "distilled", not "standard"' }),
  ]);
  expect(harness.simulator.store.get({ route: 'chat', tenant: 'acme' }).policy).toEqual({
    modelTier: 'distilled',
    fallbackModel: 'premium',
  });

  await handle.signal(alertNotificationSignal, notification(resolved(firing)));
  expect((await handle.result()).state).toBe('rolled-back');
  expect(harness.simulator.store.get({ route: 'chat', tenant: 'acme' }).policy).toEqual({});
  recordHistoryIfAsked(harness.env.address, handle, 'policy-tier');
});

test('an S1 tier question OPA cannot answer keeps the route where it is: no tier step runs', async () => {
  const firing = alert({ alertname: 'LLMSpendBurnRateHigh', severity: 'S1', route: 'chat', tenant: 'acme' });
  const handle = await harness.fire(tiered('S1'), firing, { taskQueue: TIERS_OPA_DOWN, cooldownMs: 300 });
  await waitFor('the run mitigated', () => harness.stateOf(handle, 'mitigated'));
  const status = await handle.query(statusQuery);
  expect(status.facts['which-tier']).toMatchObject({
    tier: 'premium',
    changes: false,
    allowed: false,
    reason: expect.stringMatching(/^OPA could not answer .* route chat stays on premium$/) as unknown,
  });
  expect(status.applied).toEqual([]);
  expect(status.skipped.map(({ stepId, reason }) => [stepId, reason])).toEqual([
    ['tier-standard', 'which-tier.tier is "premium", not "standard"'],
    ['tier-distilled', 'which-tier.tier is "premium", not "distilled"'],
  ]);
  expect(harness.simulator.store.get({ route: 'chat', tenant: 'acme' }).policy).toEqual({});
  await handle.signal(alertNotificationSignal, notification(resolved(firing)));
  expect((await handle.result()).state).toBe('rolled-back');
});
