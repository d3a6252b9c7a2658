// The repository's own playbooks, whole life on a real Temporal dev server: fire → steps →
// approval → resolve → cooldown → every change rolled back, checked at the gateway simulator
// and the S3 lifecycle server.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { alertNotificationSignal, decideUpdate, statusQuery } from '../../workflows/playbook-run/definitions';
import { PrometheusClient } from '../../prometheus/prometheus-client';
import { TEST_FINOPS, testS3 } from '../helpers/activities';
import { alert, resolved } from '../helpers/alerts';
import { recordHistoryIfAsked } from '../helpers/histories';
import { startPrometheusWithSpend, type RunningPrometheus } from '../helpers/prometheus';
import { startLivePlatform, type LivePlatform } from '../helpers/simulated-platform';
import { waitFor } from '../helpers/wait';
import { notification, startHarness, type Harness } from '../helpers/workflow-harness';

// A worker whose checks read a real Prometheus, scraping a spend counter that keeps rising.
const WITH_PROMETHEUS = 'seed-with-prometheus';
// A worker acting on the whole simulated platform and measuring it through a real Prometheus, with
// acme's budget at $100k a month, which its ~$1M a month burns at 4 to 15 times its pace, by the hour.
const ON_LIVE_PLATFORM = 'seed-on-live-platform';
let harness: Harness;
let prometheus: RunningPrometheus;
let live: LivePlatform;

beforeAll(async () => {
  harness = await startHarness();
  prometheus = await startPrometheusWithSpend([{ labels: 'route="chat",tenant="soylent"', usdPerTick: 1.5 }]);
  await harness.startWorker(WITH_PROMETHEUS, { prometheusUrl: prometheus.url });
  live = await startLivePlatform({ seed: 7 });
  // A 10 s window of the platform in Prometheus, for the tier checks.
  await waitFor('10 s of the platform in Prometheus', async () => {
    const samples = await new PrometheusClient({ baseUrl: live.prometheusUrl, timeoutMs: 2_000 }).query(
      'count_over_time(up{job="scraped"}[15s])',
    );
    return (samples[0]?.value ?? 0) >= 12 || undefined;
  });
  await harness.startWorker(ON_LIVE_PLATFORM, {
    gateway: live.gateway,
    prometheusUrl: live.prometheusUrl,
    finops: { ...TEST_FINOPS, budgets: { acme: { monthlyUsd: 100_000, selector: 'tenant="acme"' } } },
  });
});
afterAll(async () => {
  await harness?.close();
  await prometheus?.close();
  await live?.close();
});

const seed = (name: string) => readFileSync(join(__dirname, '..', '..', 'playbooks', `${name}.yaml`), 'utf8');
const policy = (route: string, tenant: string) => harness.simulator.store.get({ route, tenant }).policy;

const livePolicy = (route: string, tenant: string) => live.platform.store.get({ route, tenant }).policy;
// The tier check measures over 10 s rather than 5 minutes: the test's Prometheus holds seconds.
const shortTierWindow = (playbook: string) => playbook.replace('      window: 5m\n', '      window: 10s\n');

test("cost-s2 on the simulated platform: cheaper requests and a daily token cap at once, then the tier the policy names from the tenant's burn rate and the route's latency, once approved; all undone after the cooldown", async () => {
  const firing = alert({ route: 'chat', tenant: 'acme', alertname: 'LLMSpendBurnRateHigh', severity: 'S2' });
  const handle = await harness.fire([shortTierWindow(seed('cost-s2')), seed('cost-s1')], firing, {
    taskQueue: ON_LIVE_PLATFORM,
    cooldownOverrideMs: 300,
    verifyOverride: { withinMs: 3_000, everyMs: 1_000 },
  });
  await waitFor('the approval request', () => harness.stateOf(handle, 'awaiting-approval'));
  // acme's budget burns far faster than its pace, before and after the cheaper requests: the tier question is asked.
  const verified = await handle.query(statusQuery);
  expect((verified.facts['burn-now'] as { burnRate: number }).burnRate).toBeGreaterThan(1);
  expect(verified.verifications).toEqual([
    expect.objectContaining({
      stepId: 'burn-eased',
      moved: false,
      reason: expect.stringMatching(/^not below 1 within 3s: burnRate is still [\d.]+$/) as unknown,
    }),
  ]);
  expect(livePolicy('chat', 'acme')).toEqual({
    maxInputTokens: 8192,
    cacheMode: 'aggressive',
    promptCompression: true,
  });
  expect(live.platform.store.tenantQuota('acme').tokensPerDay).toBe(10_000_000_000);
  expect(harness.notifierLog).toContainEqual(
    expect.objectContaining({
      msg: expect.stringMatching(
        /^notify finops, product: LLMSpendBurnRateHigh on chat for acme: context capped at 8k/,
      ) as unknown,
    }),
  );
  // Nobody on chat is served from distilled yet, so its latency is the playbook's expectation.
  const pending = await handle.query(statusQuery);
  expect(pending.facts['which-tier']).toMatchObject({
    tier: 'distilled',
    cheaper: true,
    currentTier: 'premium',
    tierP95LatencyMs: { distilled: 6000 },
    tierLatencyFrom: { distilled: 'expected' },
    source: 'builtin',
  });
  expect((pending.facts['which-tier'] as { burnRate: number }).burnRate).toBeGreaterThanOrEqual(2);
  expect(pending.pendingApproval?.stepId).toBe('approve-cheaper-tier');

  await handle.executeUpdate(decideUpdate, {
    args: [{ stepId: 'approve-cheaper-tier', approve: true, by: 'U0FINOPS' }],
  });
  // The run records the change once the gateway answered it: wait for the run, not the gateway.
  const status = await waitFor('the distilled tier in the run', async () => {
    const current = await handle.query(statusQuery);
    return current.applied.some((a) => a.stepId === 'tier-distilled') ? current : undefined;
  });
  expect(livePolicy('chat', 'acme').modelTier).toBe('distilled');
  expect(status.applied.map((a) => a.stepId)).toEqual([
    'cap-context',
    'aggressive-cache',
    'compress-prompts',
    'cap-daily-tokens',
    'tier-distilled',
  ]);
  expect(status.skipped).toContainEqual(
    expect.objectContaining({ stepId: 'tier-standard', reason: 'which-tier.tier is "distilled", not "standard"' }),
  );
  expect(status.applied.find((a) => a.stepId === 'cap-daily-tokens')?.summary).toBe(
    'quota of tenant acme: tokensPerDay 16000000000 → 10000000000',
  );
  expect(status.nextDeadline).not.toBeNull(); // the escalation to cost-s1, 30 minutes out

  await handle.signal(alertNotificationSignal, notification(resolved(firing)));
  const summary = await handle.result();
  expect(summary.state).toBe('rolled-back');
  expect(summary.escalation).toBeNull();
  expect(livePolicy('chat', 'acme')).toEqual({});
  expect(live.platform.store.tenantQuota('acme').tokensPerDay).toBe(16_000_000_000);
  // cost-s2.json holds the run from before the playbook asked the tier policy.
  recordHistoryIfAsked(harness.env.address, handle, 'cost-s2-policy-tier');
});

test("cost-s2 whose cheaper requests bring the tenant's burn under its budget's pace: the verify step sees it, and the tenant keeps its model tier", async () => {
  // globex on chat, which no other test here changes. A budget for that spend whose pace is 87 % of what it spends now
  // (the hour of the day sets that): it burns at about 1.15 before the run, and the cheaper requests (about a quarter
  // off the cost, as measured: 1.27 → 0.98 at a pace of 75 %, which left no margin) bring it to about 0.85. The pace
  // is the one that leaves the same margin on both sides of 1.
  const spend = 'sum(rate(inference_cost_usd_total{tenant="globex",route="chat"}[30s]))';
  const prometheusClient = new PrometheusClient({ baseUrl: live.prometheusUrl, timeoutMs: 2_000 });
  const [now] = await prometheusClient.query(spend);
  const monthlyUsd = now!.value * 0.87 * 30 * 86_400;
  const queue = 'seed-on-live-platform-paced';
  await harness.startWorker(queue, {
    gateway: live.gateway,
    prometheusUrl: live.prometheusUrl,
    finops: { ...TEST_FINOPS, budgets: { globex: { monthlyUsd, selector: 'tenant="globex",route="chat"' } } },
  });
  const tenSeconds = (playbook: string) => playbook.replaceAll('window: 5m }', 'window: 10s }');
  const firing = alert({ route: 'chat', tenant: 'globex', alertname: 'LLMSpendBurnRateHigh', severity: 'S2' });
  const handle = await harness.fire([tenSeconds(seed('cost-s2')), seed('cost-s1')], firing, {
    taskQueue: queue,
    cooldownOverrideMs: 300,
    verifyOverride: { withinMs: 60_000, everyMs: 1_000 },
  });
  // The verify step's decision first: when it fails, its reason says what the burn was.
  const verified = await waitFor(
    'the verify step to decide',
    async () => {
      const current = await handle.query(statusQuery);
      return current.verifications.length > 0 || current.skipped.some(({ stepId }) => stepId === 'burn-eased')
        ? current
        : undefined;
    },
    90_000,
  );
  // On a failure the message shows the burn measured before and the verification's reason.
  expect({
    before: verified.facts['burn-now'],
    moved: verified.verifications.map((v) => [v.stepId, v.moved, v.reason]),
  }).toEqual({
    before: verified.facts['burn-now'],
    moved: [['burn-eased', true, verified.verifications[0]?.reason]],
  });
  await waitFor('the mitigation', () => harness.stateOf(handle, 'mitigated'), 30_000);
  const status = await handle.query(statusQuery);
  expect((status.facts['burn-now'] as { burnRate: number }).burnRate).toBeGreaterThan(1);
  expect(status.verifications).toEqual([
    expect.objectContaining({
      stepId: 'burn-eased',
      moved: true,
      reason: expect.stringMatching(/^burnRate is 0\.\d+, below 1$/) as unknown,
    }),
  ]);
  const notNeeded = expect.stringMatching(/^not needed: burn-eased verified burnRate is 0\.\d+, below 1$/) as unknown;
  expect(status.skipped.filter(({ reason }) => reason.startsWith('not needed'))).toEqual(
    ['which-tier', 'approve-cheaper-tier', 'tier-standard', 'tier-distilled'].map((stepId) => ({
      stepId,
      reason: notNeeded,
    })),
  );
  expect(livePolicy('chat', 'globex').modelTier).toBeUndefined();

  await handle.signal(alertNotificationSignal, notification(resolved(firing)));
  expect((await handle.result()).state).toBe('rolled-back');
  expect(livePolicy('chat', 'globex')).toEqual({});
  recordHistoryIfAsked(harness.env.address, handle, 'cost-s2-burn-eased');
});

test("cost-s1 on the simulated platform: the cost cut, the policy's tier and a stricter token cap at once; a rejected throttle is never applied; all undone after the cooldown", async () => {
  const firing = alert({ route: 'chat', tenant: 'acme', alertname: 'LLMSpendBurnRateHigh', severity: 'S1' });
  const handle = await harness.fire(shortTierWindow(seed('cost-s1')), firing, {
    taskQueue: ON_LIVE_PLATFORM,
    cooldownOverrideMs: 300,
  });
  await waitFor('the approval request', () => harness.stateOf(handle, 'awaiting-approval'));
  expect(livePolicy('chat', 'acme')).toEqual({
    maxInputTokens: 4096,
    cacheMode: 'aggressive',
    promptCompression: true,
    modelTier: 'distilled',
    fallbackModel: 'premium',
  });
  expect(live.platform.store.tenantQuota('acme').tokensPerDay).toBe(5_000_000_000);

  await handle.executeUpdate(decideUpdate, {
    args: [{ stepId: 'approve-throttle', approve: false, by: 'U0PRODUCT', reason: 'enterprise launch' }],
  });
  await waitFor('the run to mitigate', () => harness.stateOf(handle, 'mitigated'));
  expect(livePolicy('chat', 'acme').rateLimitRps).toBeUndefined();
  expect((await handle.query(statusQuery)).skipped.map((s) => s.stepId)).toEqual([
    'tier-standard',
    'approve-throttle',
    'adaptive-throttle',
  ]);

  await handle.signal(alertNotificationSignal, notification(resolved(firing)));
  expect((await handle.result()).state).toBe('rolled-back');
  expect(livePolicy('chat', 'acme')).toEqual({});
  expect(live.platform.store.tenantQuota('acme').tokensPerDay).toBe(16_000_000_000);
  recordHistoryIfAsked(harness.env.address, handle, 'cost-s1-policy-tier');
});

test('cost-s2 escalates to cost-s1: the stricter steps apply over the S2 ones (no tier for a tenant without a budget), the throttle measures the burn rate in Prometheus, and rollback restores the values from before S2', async () => {
  const firing = alert({ route: 'chat', tenant: 'soylent', alertname: 'LLMSpendBurnRateHigh', severity: 'S2' });
  const handle = await harness.fire([seed('cost-s2'), seed('cost-s1')], firing, {
    taskQueue: WITH_PROMETHEUS,
    cooldownOverrideMs: 300,
    escalationOverrideMs: 200,
  });
  // Same step ids in both playbooks: the S1 ones are told apart by their playbook's name.
  await waitFor('the S1 approval', async () =>
    (await handle.query(statusQuery)).pendingApproval?.stepId === 'cost-s1/approve-throttle' ? true : undefined,
  );
  expect(policy('chat', 'soylent')).toEqual({ maxInputTokens: 4096, cacheMode: 'aggressive', promptCompression: true });
  // Throttling refuses traffic: the S1 approval needs two people.
  await handle.executeUpdate(decideUpdate, {
    args: [{ stepId: 'cost-s1/approve-throttle', approve: true, by: 'U0PRODUCT' }],
  });
  await handle.executeUpdate(decideUpdate, {
    args: [{ stepId: 'cost-s1/approve-throttle', approve: true, by: 'U0FINOPS' }],
  });
  // Prometheus evaluates the burn-rate query, but the spend series is seconds old, not 14 days: no
  // number, so no throttle (a young series would otherwise look like a 2000x burst).
  const adapting = await waitFor(
    'the first burn-rate measurement',
    async () => (await handle.query(statusQuery)).adapting[0]?.measuredAt ?? undefined,
  );
  expect(adapting).not.toBeNull();
  expect((await handle.query(statusQuery)).adapting[0]).toMatchObject({
    stepId: 'cost-s1/adaptive-throttle',
    level: null,
    value: null,
    note: 'prometheus.query gave no number for value; the level stays',
  });
  expect(policy('chat', 'soylent').rateLimitRps).toBeUndefined();

  const status = await handle.query(statusQuery);
  expect(status.escalation).toMatchObject({ to: 'cost-s1', reason: 'still firing 0.2s after the steps of cost-s2' });
  expect(status.applied.map((a) => a.stepId)).toEqual([
    'cap-context',
    'aggressive-cache',
    'compress-prompts',
    'cost-s1/cap-context',
    'cost-s1/cut-cost-per-request',
  ]);
  expect(status.applied.find((a) => a.stepId === 'cost-s1/cap-context')?.summary).toBe(
    'route chat (tenant soylent): maxInputTokens 8192 → 4096',
  );
  // soylent has no budget: the tier question has no answer, and no tier step runs at S2 or S1.
  for (const stepId of ['which-tier', 'cost-s1/which-tier']) {
    expect(status.skipped.find((skipped) => skipped.stepId === stepId)?.reason).toBe(
      'failed: policy.tier: no budget named soylent; define finops.budgets.soylent in the config (defined: platform)',
    );
  }
  expect(status.skipped.find((skipped) => skipped.stepId === 'approve-cheaper-tier')?.reason).toBe(
    'which-tier.cheaper is not known (its check did not run or failed)',
  );

  await handle.signal(alertNotificationSignal, notification(resolved(firing)));
  const summary = await handle.result();
  expect(summary.state).toBe('rolled-back');
  expect(summary.applied.every((a) => a.undoneAt !== null)).toBe(true);
  expect(policy('chat', 'soylent')).toEqual({});
  recordHistoryIfAsked(harness.env.address, handle, 'cost-s2-escalated');
});

test("storage-egress: once approved, cold-data rules join the bucket's own; rollback puts its configuration back exactly", async () => {
  const s3 = testS3(harness.s3.url);
  const ownRule = {
    ID: 'keep-audit-logs',
    Status: 'Enabled' as const,
    Filter: { Prefix: 'audit/' },
    Expiration: { Days: 2555 },
  };
  await s3.putLifecycle('llm-request-logs', { rules: [ownRule] });
  const before = await s3.getLifecycle('llm-request-logs');

  const firing = alert({ bucket: 'llm-request-logs', alertname: 'ObjectStorageCostHigh', severity: 'S2' });
  const handle = await harness.fire(seed('storage-egress'), firing, { cooldownOverrideMs: 300 });
  await waitFor('the approval request', () => harness.stateOf(handle, 'awaiting-approval'));
  expect((await handle.query(statusQuery)).facts).toMatchObject({
    'current-rules': { ruleCount: 1, ruleIds: ['keep-audit-logs'] },
  });
  expect(await s3.getLifecycle('llm-request-logs')).toEqual(before);

  await handle.executeUpdate(decideUpdate, { args: [{ stepId: 'approve-tiering', approve: true, by: 'U0FINOPS' }] });
  await waitFor('the mitigation', () => harness.stateOf(handle, 'mitigated'));
  const tiered = await s3.getLifecycle('llm-request-logs');
  expect(tiered?.rules.map((rule) => rule.ID)).toEqual([
    'keep-audit-logs',
    'finops-soar:cold-to-infrequent-access',
    'finops-soar:expire-debug-captures',
  ]);
  expect(tiered?.rules[1]).toMatchObject({
    Transitions: [
      { Days: 30, StorageClass: 'STANDARD_IA' },
      { Days: 90, StorageClass: 'GLACIER_IR' },
    ],
  });
  expect(harness.notifierLog).toContainEqual(
    expect.objectContaining({
      msg: expect.stringMatching(
        /^notify finops, platform: ObjectStorageCostHigh on bucket llm-request-logs: lifecycle rules added/,
      ) as unknown,
    }),
  );

  await handle.signal(alertNotificationSignal, notification(resolved(firing)));
  expect((await handle.result()).state).toBe('rolled-back');
  expect(await s3.getLifecycle('llm-request-logs')).toEqual(before);
  recordHistoryIfAsked(harness.env.address, handle, 'storage-egress');
});

test('storage-egress: rejected, the bucket is never touched; on a bucket without rules, rollback leaves none', async () => {
  const firing = alert({ bucket: 'llm-prompt-archive', alertname: 'ObjectStorageEgressHigh', severity: 'S2' });
  const rejected = await harness.fire(seed('storage-egress'), firing, { cooldownOverrideMs: 300 });
  await waitFor('the approval request', () => harness.stateOf(rejected, 'awaiting-approval'));
  const mutationsBefore = harness.s3.mutations;
  await rejected.executeUpdate(decideUpdate, {
    args: [{ stepId: 'approve-tiering', approve: false, by: 'U0FINOPS', reason: 'archive is read by the eval jobs' }],
  });
  await rejected.signal(alertNotificationSignal, notification(resolved(firing)));
  expect((await rejected.result()).applied).toEqual([]);
  expect(harness.s3.mutations).toBe(mutationsBefore);

  const again = alert(
    { bucket: 'llm-prompt-archive', alertname: 'ObjectStorageEgressHigh', severity: 'S2' },
    { startsAt: '2026-11-28T11:00:00Z' },
  );
  const approved = await harness.fire(seed('storage-egress'), again, { cooldownOverrideMs: 300 });
  await waitFor('the approval request', () => harness.stateOf(approved, 'awaiting-approval'));
  await approved.executeUpdate(decideUpdate, { args: [{ stepId: 'approve-tiering', approve: true, by: 'U0FINOPS' }] });
  await waitFor('the rules', async () =>
    (await testS3(harness.s3.url).getLifecycle('llm-prompt-archive'))?.rules.length === 2 ? true : undefined,
  );
  await approved.signal(alertNotificationSignal, notification(resolved(again)));
  expect((await approved.result()).state).toBe('rolled-back');
  expect(await testS3(harness.s3.url).getLifecycle('llm-prompt-archive')).toBeNull();
});
