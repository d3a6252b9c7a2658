// The shipped playbooks that touch the gateway (cost-s2, cost-s1, capacity-s1, capacity-s2), whole life on a Kong AI
// Gateway (gateway.kind kong) on a real Temporal dev server: each YAML file as shipped (only its time windows shortened,
// through the harness), Kong's Admin API served locally (test/helpers/kong-admin-server.ts) and seeded as a Kong AI
// Gateway operator would have it, real Prometheus servers for the budget, tier and GPU checks, the Kubernetes API server
// for the capacity steps. Each run: which steps applied (their summaries), which were skipped and the exact reason,
// the plugins while mitigated, the approvals, then resolve → rolled-back and Kong exactly as before. Also a Kong write
// refused (503) and one made with its answer lost, retried by Temporal: made once, with its true previous values; and
// plugins the engine made that someone made theirs while the run held them: closed and left to them, or, where the
// engine cannot take back only its own field, the rollback refused and the run saying why.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KongPlugin } from '../../gateway/kong/kong-admin-client';
import { KongGateway } from '../../gateway/kong/kong-gateway';
import { PrometheusClient } from '../../prometheus/prometheus-client';
import { DEFAULT_CATALOG } from '../../simulator/platform/catalog';
import { seedCluster } from '../../simulator/simulated-platform';
import { alertNotificationSignal, decideUpdate, statusQuery } from '../../workflows/playbook-run/definitions';
import { TEST_FINOPS } from '../helpers/activities';
import { alert, resolved } from '../helpers/alerts';
import { KONG_ADMIN_TOKEN, KongAdminServer, type KongSeed } from '../helpers/kong-admin-server';
import { startPrometheus, type RunningPrometheus } from '../helpers/prometheus';
import { startTierMetricsPrometheus } from '../helpers/tier-metrics';
import { waitFor } from '../helpers/wait';
import { notification, startHarness, type Harness } from '../helpers/workflow-harness';

jest.setTimeout(180_000);

/** A worker whose cost checks read the tier metrics (acme spends $1/s on chat; latency histograms; model tiers). */
const COST = 'kong-cost';
/** A worker whose capacity checks read the GPUs and the platform's spend. */
const CAPACITY = 'kong-capacity';

const TARGET = (region: string, weight: number) => ({
  model: { name: 'gpt-4o', provider: 'azure', options: { azure_instance: `ai-${region}`, max_tokens: 1024 } },
  auth: { header_name: 'api-key', header_value: `secret-${region}` },
  route_type: 'llm/v1/chat',
  description: region,
  weight,
});
const SEMANTIC_CACHE = {
  embeddings: { model: { provider: 'openai', name: 'text-embedding-3-small' }, auth: { header_value: 'secret' } },
  vectordb: { strategy: 'redis', distance_metric: 'cosine', threshold: 0.1, dimensions: 1536 },
  cache_ttl: 300,
};
const COMPRESSOR = {
  compressor_type: 'rate',
  compressor_url: 'http://llmlingua.ai-gateway.svc:8080',
  compression_ranges: [{ min_tokens: 500, max_tokens: 100_000, value: 0.6 }],
};

/**
 * A Kong AI Gateway as its operator runs it: chat balanced over two Azure regions 60/40 by weight; a semantic cache and
 * a prompt compressor on chat, off, for everyone and (set up for the engine to switch) for acme on chat; acme's daily
 * token allowance of 16 billion on its ai-rate-limiting-advanced plugin; the platform team's own request limits on
 * core and on globex's chat; key-auth on chat.
 */
const SEED: KongSeed = {
  routes: ['chat', 'code-assist', 'summarize', 'core', 'risk', 'fraud'],
  consumers: ['acme', 'globex'],
  plugins: [
    {
      name: 'ai-proxy-advanced',
      route: 'chat',
      config: { targets: [TARGET('us-east-1', 3), TARGET('eu-west-1', 2)], balancer: { algorithm: 'round-robin' } },
      tags: ['owner:ai-platform'],
    },
    { name: 'key-auth', route: 'chat', config: { key_names: ['apikey'] } },
    { name: 'ai-semantic-cache', route: 'chat', enabled: false, config: SEMANTIC_CACHE },
    { name: 'ai-prompt-compressor', route: 'chat', enabled: false, config: COMPRESSOR },
    { name: 'ai-semantic-cache', route: 'chat', consumer: 'acme', enabled: false, config: SEMANTIC_CACHE },
    { name: 'ai-prompt-compressor', route: 'chat', consumer: 'acme', enabled: false, config: COMPRESSOR },
    {
      name: 'ai-rate-limiting-advanced',
      consumer: 'acme',
      config: {
        llm_providers: [
          { name: 'azure', limit: [2_000_000, 16_000_000_000], window_size: [60, 86_400] },
          { name: 'openai', limit: [1_000_000, 16_000_000_000], window_size: [60, 86_400] },
        ],
      },
      tags: ['owner:finops'],
    },
    { name: 'rate-limiting', route: 'core', config: { minute: 6_000 }, tags: ['owner:platform'] },
    { name: 'rate-limiting', route: 'chat', consumer: 'globex', config: { minute: 600 } },
  ],
};

// chat's spend for the platform budget, and the GPUs of the deployment the capacity alerts name.
const SPEND = '# TYPE inference_cost_usd_total counter\ninference_cost_usd_total{tenant="acme",route="chat"} 125000\n';
const gpus = (utilization: number) =>
  `${SPEND}# TYPE gpu_utilization gauge\ngpu_utilization{namespace="inference",deployment="llm-premium-us-east-1"} ${utilization}\n`;

let harness: Harness;
let kong: KongAdminServer;
let tierMetrics: RunningPrometheus;
let capacityMetrics: RunningPrometheus;

beforeAll(async () => {
  [harness, kong, tierMetrics, capacityMetrics] = await Promise.all([
    startHarness(),
    KongAdminServer.start(),
    startTierMetricsPrometheus(),
    startPrometheus(gpus(0.97)),
  ]);
  seedCluster(harness.kube, DEFAULT_CATALOG);
  await waitFor('two scrapes of the spend', async () => {
    const client = new PrometheusClient({ baseUrl: capacityMetrics.url, timeoutMs: 2_000 });
    return (await client.query('increase(inference_cost_usd_total[1h])')).length > 0 || undefined;
  });
  // One try per call: a fault goes to the activity, for Temporal to retry.
  const gateway = new KongGateway({ baseUrl: kong.url, adminToken: KONG_ADMIN_TOKEN, timeoutMs: 2_000 });
  await harness.startWorker(COST, {
    gateway,
    prometheusUrl: tierMetrics.url,
    // acme spends $1/s on chat; a budget of $86,400 a month is a burn rate of 30. The playbooks measure over 5 minutes,
    // which the test's seconds-old series fill only in part, so the burn they see is lower, but still above 2.
    finops: {
      ...TEST_FINOPS,
      budgets: { ...TEST_FINOPS.budgets, acme: { monthlyUsd: 86_400, selector: 'tenant="acme"' } },
    },
  });
  await harness.startWorker(CAPACITY, { gateway, prometheusUrl: capacityMetrics.url });
}, 180_000);
afterAll(async () => {
  await harness?.close();
  await kong?.close();
  await tierMetrics?.close();
  await capacityMetrics?.close();
});
beforeEach(() => kong.seed(structuredClone(SEED)));
// A failed test's run would keep holding its objects (runs never stack changes on one object), failing the next.
const started: Array<Awaited<ReturnType<Harness['fire']>>> = [];
afterEach(async () => {
  for (const handle of started.splice(0)) {
    if ((await handle.describe()).status.name === 'RUNNING') await handle.terminate('the test ended');
  }
});
const fire = async (...args: Parameters<Harness['fire']>) => {
  const handle = await harness.fire(...args);
  started.push(handle);
  return handle;
};

const seed = (name: string) => readFileSync(join(__dirname, '..', '..', 'playbooks', `${name}.yaml`), 'utf8');

/** The engine's change records (finops-soar:<key hash>:<answer>), which it keeps on the plugins it changed. */
const RECORD = /^finops-soar:[0-9a-f]{16}:/;

/** A plugin's tags less the engine's records; none left reads as Kong answers a plugin without tags (null). */
const withoutRecords = (tags: string[] | null) => {
  const rest = (tags ?? []).filter((tag) => !RECORD.test(tag));
  return rest.length > 0 ? rest : null;
};

/**
 * Kong as a whole: routes, consumers, every plugin (id, scope, config, enabled, tags, created_at), less Kong's own
 * updated_at and the engine's change records. A plugin the engine made and left, a held weight, a field it left set
 * or a plugin it deleted and remade all show.
 */
const kongState = () => ({
  routes: structuredClone(kong.routes),
  consumers: structuredClone(kong.consumers),
  plugins: kong.plugins.map(({ updated_at: _updated, tags, ...plugin }: KongPlugin) => ({
    ...structuredClone(plugin),
    tags: withoutRecords(tags),
  })),
});

const pluginOf = (name: string, scope: { route?: string; consumer?: string }) => kong.pluginOf(name, scope)!;
const summaries = (applied: Array<{ stepId: string; summary: string }>) =>
  applied.map(({ stepId, summary }) => [stepId, summary]);
const records = (name: string, scope: { route?: string; consumer?: string }) =>
  (pluginOf(name, scope).tags ?? []).filter((tag) => RECORD.test(tag));

type State = ReturnType<typeof kongState>;
type StatePlugin = State['plugins'][number];

/** `state` with the plugin of `name` in the scope (route and consumer by name) changed by `change`. */
function changed(
  state: State,
  name: string,
  { route, consumer }: { route?: string; consumer?: string },
  change: (plugin: StatePlugin) => StatePlugin,
): State {
  const routeId = route === undefined ? null : state.routes.find((r) => r.name === route)!.id;
  const consumerId = consumer === undefined ? null : state.consumers.find((c) => c.username === consumer)!.id;
  const at = state.plugins.findIndex(
    (p) => p.name === name && (p.route?.id ?? null) === routeId && (p.consumer?.id ?? null) === consumerId,
  );
  expect(at).toBeGreaterThanOrEqual(0);
  const plugins = [...state.plugins];
  plugins[at] = change(structuredClone(plugins[at]!));
  return { ...state, plugins };
}
const enabled = (plugin: StatePlugin) => ({ ...plugin, enabled: true });
const dailyTokens = (limit: number) => (plugin: StatePlugin) => ({
  ...plugin,
  config: {
    ...plugin.config,
    llm_providers: [
      { name: 'azure', limit: [2_000_000, limit], window_size: [60, 86_400] },
      { name: 'openai', limit: [1_000_000, limit], window_size: [60, 86_400] },
    ],
  },
});

/** Why each step Kong cannot make was skipped: the knob table's words (gateway/gateway-knobs.ts). */
const LACKS = {
  maxInputTokens:
    "the kong gateway cannot set policy.maxInputTokens (Kong caps request bodies in bytes (request-size-limiting, ai-prompt-guard's max_request_body_size), not prompts in tokens; ai-proxy's max_tokens caps the answer)",
  tier: "the kong gateway cannot set policy.modelTier (Kong picks the model from an ai-proxy-advanced plugin's targets, which carry the provider credentials; the engine does not copy them into new targets or plugins), nor set policy.fallbackModel (Kong fails over between an ai-proxy-advanced plugin's targets (balancer.failover_criteria), not to a named model)",
  priority: 'the kong gateway cannot set policy.priority (Kong has no per-route or per-consumer scheduling priority)',
};

describe('cost playbooks on Kong', () => {
  const firing = (severity: string) =>
    alert({ route: 'chat', tenant: 'acme', alertname: 'LLMSpendBurnRateHigh', severity });

  test("cost-s2: acme's cache and prompt compression switched on for chat, its daily tokens capped on its ai-rate-limiting-advanced; what Kong lacks skipped, saying why; Kong exactly as before after the rollback", async () => {
    const before = kongState();
    const alerting = firing('S2');
    const handle = await fire([seed('cost-s2'), seed('cost-s1')], alerting, {
      taskQueue: COST,
      gateway: 'kong',
      cooldownOverrideMs: 300,
      verifyOverride: { withinMs: 1_500, everyMs: 500 },
    });
    await waitFor('the mitigation', () => harness.stateOf(handle, 'mitigated'), 90_000);
    const status = await handle.query(statusQuery);
    expect(summaries(status.applied)).toEqual([
      ['aggressive-cache', 'route chat (tenant acme): cacheMode "off" → "aggressive"'],
      ['compress-prompts', 'route chat (tenant acme): promptCompression false → true'],
      ['cap-daily-tokens', 'quota of tenant acme: tokensPerDay 16000000000 → 10000000000'],
    ]);
    expect(status.skipped).toEqual([
      { stepId: 'cap-context', reason: LACKS.maxInputTokens },
      { stepId: 'approve-cheaper-tier', reason: 'which-tier.cheaper is false, not true' },
      { stepId: 'tier-standard', reason: LACKS.tier },
      { stepId: 'tier-distilled', reason: LACKS.tier },
    ]);
    // What the run read from Kong: its policy has no maxInputTokens and no modelTier (Kong has neither knob).
    expect(status.facts['current-policy']).toEqual({
      rateLimitRps: null,
      circuit: { state: 'closed', failMode: 'closed' },
      cacheMode: 'off',
      promptCompression: false,
    });
    expect(status.facts['current-quota']).toEqual({
      requestsPerSecond: null,
      tokensPerDay: 16_000_000_000,
      costPerDayUsd: null,
    });
    // acme burns its budget far faster than its pace: the cheaper requests do not bring it under 1, so the tier policy
    // is asked, and names distilled. But Kong has no model tier to read, so nothing is "cheaper" than the tier acme is
    // on: the approval is not asked, and the tier steps are skipped anyway (Kong cannot set one).
    expect((status.facts['burn-now'] as { burnRate: number }).burnRate).toBeGreaterThan(2);
    expect(status.verifications).toEqual([
      expect.objectContaining({
        stepId: 'burn-eased',
        moved: false,
        reason: expect.stringMatching(/^not below 1 within 1\.5s: burnRate is still [\d.]+$/) as unknown,
      }),
    ]);
    expect(status.facts['which-tier']).toMatchObject({
      tier: 'distilled',
      changes: true,
      cheaper: false,
      allowed: true,
      p95LatencyMs: 3000,
      tierP95LatencyMs: { premium: 3000, standard: 2000, distilled: 6000 },
      source: 'builtin',
    });
    expect((status.facts['which-tier'] as { currentTier?: string }).currentTier).toBeUndefined();

    // Kong while mitigated: exactly those three plugins changed, each carrying the change's record.
    let mitigated = changed(before, 'ai-semantic-cache', { route: 'chat', consumer: 'acme' }, enabled);
    mitigated = changed(mitigated, 'ai-prompt-compressor', { route: 'chat', consumer: 'acme' }, enabled);
    mitigated = changed(mitigated, 'ai-rate-limiting-advanced', { consumer: 'acme' }, dailyTokens(10_000_000_000));
    expect(kongState()).toEqual(mitigated);
    expect(records('ai-semantic-cache', { route: 'chat', consumer: 'acme' })).toHaveLength(1);
    expect(pluginOf('ai-rate-limiting-advanced', { consumer: 'acme' }).tags).toEqual([
      'owner:finops',
      expect.stringMatching(RECORD) as unknown,
    ]);

    await handle.signal(alertNotificationSignal, notification(resolved(alerting)));
    const summary = await handle.result();
    expect(summary.state).toBe('rolled-back');
    expect(summary.applied.filter(({ undoneAt }) => undoneAt === null)).toEqual([]);
    expect(kongState()).toEqual(before);
  });

  test('cost-s2 for a tenant the operator gave no cache or compressor of its own (globex): Kong is not set up for those steps, so the run skips them saying what to add, goes on, and changes nothing', async () => {
    // The route's own cache is everyone's: the engine does not switch it for one tenant. The shipped steps say
    // `unsupported: skip`, which covers a gateway object not set up for the change as it covers a knob Kong lacks.
    const before = kongState();
    const alerting = alert({ route: 'chat', tenant: 'globex', alertname: 'LLMSpendBurnRateHigh', severity: 'S2' });
    const handle = await fire([seed('cost-s2'), seed('cost-s1')], alerting, {
      taskQueue: COST,
      gateway: 'kong',
      cooldownOverrideMs: 300,
      verifyOverride: { withinMs: 1_500, everyMs: 500 },
    });
    await waitFor('the run to mitigate', () => harness.stateOf(handle, 'mitigated'), 90_000);
    const status = await handle.query(statusQuery);
    expect(status.applied).toEqual([]);
    const notSetUp = (plugin: string) =>
      `the gateway is not set up for it: route chat, consumer globex has no ${plugin} plugin; it needs configuration the engine cannot make up (its service URLs and credentials): add one there (disabled, if it should start off), and the engine switches it on and off`;
    expect(status.skipped.slice(0, 3)).toEqual([
      { stepId: 'cap-context', reason: LACKS.maxInputTokens },
      { stepId: 'aggressive-cache', reason: notSetUp('ai-semantic-cache') },
      { stepId: 'compress-prompts', reason: notSetUp('ai-prompt-compressor') },
    ]);
    expect(kongState()).toEqual(before);

    await handle.signal(alertNotificationSignal, notification(resolved(alerting)));
    expect((await handle.result()).state).toBe('rolled-back');
    expect(kongState()).toEqual(before);
  });

  test('cost-s1: the cost cut and a stricter daily cap at once; two different people approve the throttle, which measures no burn yet (no 14 days of spend) and sets no limit; Kong exactly as before', async () => {
    const before = kongState();
    const alerting = firing('S1');
    const handle = await fire(seed('cost-s1'), alerting, {
      taskQueue: COST,
      gateway: 'kong',
      cooldownOverrideMs: 300,
    });
    await waitFor('the approval request', () => harness.stateOf(handle, 'awaiting-approval'), 90_000);
    const pending = await handle.query(statusQuery);
    expect(summaries(pending.applied)).toEqual([
      [
        'cut-cost-per-request',
        'route chat (tenant acme): cacheMode "off" → "aggressive", promptCompression false → true',
      ],
      ['cap-daily-tokens', 'quota of tenant acme: tokensPerDay 16000000000 → 5000000000'],
    ]);
    expect(pending.skipped).toEqual([
      { stepId: 'cap-context', reason: LACKS.maxInputTokens },
      { stepId: 'tier-standard', reason: LACKS.tier },
      { stepId: 'tier-distilled', reason: LACKS.tier },
    ]);
    expect(pending.facts['which-tier']).toMatchObject({ tier: 'distilled', cheaper: false });
    let mitigated = changed(before, 'ai-semantic-cache', { route: 'chat', consumer: 'acme' }, enabled);
    mitigated = changed(mitigated, 'ai-prompt-compressor', { route: 'chat', consumer: 'acme' }, enabled);
    mitigated = changed(mitigated, 'ai-rate-limiting-advanced', { consumer: 'acme' }, dailyTokens(5_000_000_000));
    expect(kongState()).toEqual(mitigated);
    // One step, two plugins: each carries the step's record.
    expect(records('ai-prompt-compressor', { route: 'chat', consumer: 'acme' })).toHaveLength(1);

    // Throttling refuses traffic: in an S1 playbook that takes two different people.
    expect(pending.pendingApproval).toMatchObject({ stepId: 'approve-throttle', approvalsNeeded: 2, approvedBy: [] });
    const decide = (by: string) =>
      handle.executeUpdate(decideUpdate, { args: [{ stepId: 'approve-throttle', approve: true, by }] });
    expect(await decide('U0FINOPS')).toMatchObject({ accepted: true, approvalsStillNeeded: 1 });
    expect(await decide('U0FINOPS')).toEqual({
      accepted: false,
      refusal: 'U0FINOPS already approved step approve-throttle; it needs 2 different people',
    });
    await decide('U0SRE');
    const adapting = await waitFor('the first burn-rate measurement', async () => {
      const [first] = (await handle.query(statusQuery)).adapting;
      return first?.measuredAt ? first : undefined;
    });
    expect(adapting).toMatchObject({
      stepId: 'adaptive-throttle',
      level: null,
      value: null,
      note: 'prometheus.query gave no number for value; the level stays',
    });
    // No rate-limiting plugin for acme on chat: the level stayed at none.
    expect(kongState()).toEqual(mitigated);

    await handle.signal(alertNotificationSignal, notification(resolved(alerting)));
    const summary = await handle.result();
    expect(summary.state).toBe('rolled-back');
    expect(summary.applied.filter(({ undoneAt }) => undoneAt === null)).toEqual([]);
    expect(kongState()).toEqual(before);
  });
});

describe('capacity playbooks on Kong', () => {
  const saturated = (severity: string) =>
    alert({
      alertname: 'GPUSaturatedQueueGrowing',
      severity,
      namespace: 'inference',
      deployment: 'llm-premium-us-east-1',
      region: 'us-east-1',
      model: 'llama-3.1-405b-instruct',
    });

  async function setUtilization(value: number) {
    capacityMetrics.metrics.text = gpus(value);
    const client = new PrometheusClient({ baseUrl: capacityMetrics.url, timeoutMs: 2_000 });
    await waitFor(`Prometheus to read the GPUs at ${value}`, async () => {
      const [sample] = await client.query('gpu_utilization{deployment="llm-premium-us-east-1"}');
      return sample?.value === value || undefined;
    });
  }

  test('capacity-s1: no priorities on Kong (skipped, saying why); once two people approve, request-termination plugins break code-assist and summarize; the rollback deletes them', async () => {
    const before = kongState();
    const alerting = saturated('S1');
    const handle = await fire(seed('capacity-s1'), alerting, {
      taskQueue: CAPACITY,
      gateway: 'kong',
      cooldownOverrideMs: 300,
    });
    await waitFor('the approval request', () => harness.stateOf(handle, 'awaiting-approval'), 90_000);
    const pending = await handle.query(statusQuery);
    expect(pending.skipped).toEqual(
      ['prioritise-core', 'prioritise-risk', 'prioritise-fraud'].map((stepId) => ({ stepId, reason: LACKS.priority })),
    );
    expect(pending.applied).toEqual([]);
    expect(harness.notifierLog).toContainEqual(
      expect.objectContaining({ warRoom: { name: 'cap-llm-premium-us-east-1', invite: ['sre', 'product'] } }),
    );
    expect(pending.pendingApproval).toMatchObject({ stepId: 'approve-circuit-break', approvalsNeeded: 2 });
    const decide = (by: string) =>
      handle.executeUpdate(decideUpdate, { args: [{ stepId: 'approve-circuit-break', approve: true, by }] });
    expect(await decide('U0SRE')).toMatchObject({ accepted: true, approvalsStillNeeded: 1 });
    expect(kongState()).toEqual(before);
    await decide('U0PRODUCT');
    await waitFor('the mitigation', () => harness.stateOf(handle, 'mitigated'));
    const status = await handle.query(statusQuery);
    // The fail mode is the engine's (summarize is a sensitive route: closed); Kong's circuit has none, it only refuses.
    expect(summaries(status.applied)).toEqual([
      [
        'break-code-assist',
        'route code-assist: circuit {"state":"closed","failMode":"closed"} → {"state":"open","failMode":"open"}',
      ],
      [
        'break-summarize',
        'route summarize: circuit {"state":"closed","failMode":"closed"} → {"state":"open","failMode":"closed"}',
      ],
    ]);
    const breaker = (route: string) => ({
      id: expect.any(String) as unknown,
      name: 'request-termination',
      route: { id: before.routes.find(({ name }) => name === route)!.id },
      service: null,
      consumer: null,
      config: {
        status_code: 503,
        message: 'circuit open (finops-soar)',
        content_type: null,
        body: null,
        echo: false,
        trigger: null,
      },
      enabled: true,
      tags: ['finops-soar:created'], // and its record, left out of kongState()
      created_at: expect.any(Number) as unknown,
    });
    expect(kongState()).toEqual({
      ...before,
      plugins: [...before.plugins, breaker('code-assist'), breaker('summarize')],
    });

    await handle.signal(alertNotificationSignal, notification(resolved(alerting)));
    const summary = await handle.result();
    expect(summary.state).toBe('rolled-back');
    expect(summary.applied.filter(({ undoneAt }) => undoneAt === null)).toEqual([]);
    expect(kongState()).toEqual(before);
  });

  test("capacity-s1 where someone makes the summarize breaker theirs while it is open: the rollback deletes code-assist's, and only closes theirs", async () => {
    const before = kongState();
    const alerting = saturated('S1');
    const handle = await fire(seed('capacity-s1'), alerting, {
      taskQueue: CAPACITY,
      gateway: 'kong',
      cooldownOverrideMs: 300,
    });
    await waitFor('the approval request', () => harness.stateOf(handle, 'awaiting-approval'), 90_000);
    for (const by of ['U0SRE', 'U0PRODUCT'])
      await handle.executeUpdate(decideUpdate, { args: [{ stepId: 'approve-circuit-break', approve: true, by }] });
    await waitFor('the mitigation', () => harness.stateOf(handle, 'mitigated'));
    // The on-call keeps summarize's breaker for a maintenance window: their message, their tag.
    const theirs = pluginOf('request-termination', { route: 'summarize' });
    theirs.config.message = 'summarize is down for maintenance until 14:00 UTC';
    theirs.tags = [...theirs.tags!, 'owner:sre'];

    await handle.signal(alertNotificationSignal, notification(resolved(alerting)));
    const summary = await handle.result();
    expect(summary.state).toBe('rolled-back');
    expect(summary.applied.map(({ stepId, undoneAt, undoError }) => [stepId, undoneAt !== null, undoError])).toEqual([
      ['break-code-assist', true, null],
      ['break-summarize', true, null],
    ]);
    // Their breaker stays, off (the circuit the engine opened is closed), no longer marked as the engine's to delete.
    expect(kongState()).toEqual({
      ...before,
      plugins: [
        ...before.plugins,
        expect.objectContaining({
          name: 'request-termination',
          route: { id: before.routes.find(({ name }) => name === 'summarize')!.id },
          enabled: false,
          config: expect.objectContaining({
            status_code: 503,
            message: 'summarize is down for maintenance until 14:00 UTC',
          }) as unknown,
          tags: ['owner:sre'],
        }) as unknown,
      ],
    });
  });

  test("capacity-s2: replicas up, chat moved to eu-west-1 by its ai-proxy-advanced targets' weights; the staged rollback brings the raw weights back exactly", async () => {
    const before = kongState();
    const replicas = () =>
      harness.kube.get('deployments', 'inference', 'llm-premium-us-east-1')?.spec.replicas as number | undefined;
    const replicasBefore = replicas();
    await setUtilization(0.97);
    const alerting = saturated('S2');
    const handle = await fire([seed('capacity-s2'), seed('capacity-s1')], alerting, {
      taskQueue: CAPACITY,
      gateway: 'kong',
      cooldownOverrideMs: 300,
      rollbackOverride: { stabiliseMs: 300, holdMs: 1_000, maxHoldMs: 4_000, guardEveryMs: 100 },
      verifyOverride: { withinMs: 500, everyMs: 100 },
    });
    await waitFor('the mitigation', () => harness.stateOf(handle, 'mitigated'), 90_000);
    const status = await handle.query(statusQuery);
    expect(status.applied.map(({ stepId }) => stepId)).toEqual([
      'raise-autoscaler-ceiling',
      'scale-out',
      'defer-batch',
      'shift-chat-to-eu',
    ]);
    expect(status.applied.find(({ stepId }) => stepId === 'shift-chat-to-eu')?.summary).toBe(
      'region weights of route chat: us-east-1 0.6 → 0.3, eu-west-1 0.4 → 0.7',
    );
    expect(status.skipped.map(({ stepId }) => stepId)).toEqual(['shift-chat-to-us']);
    // The targets sent back whole, credentials and all, with only their weights changed; the raw 3 and 2 held in a tag.
    const proxy = pluginOf('ai-proxy-advanced', { route: 'chat' });
    expect(proxy.config.targets).toEqual([TARGET('us-east-1', 300), TARGET('eu-west-1', 700)]);
    expect(proxy.tags).toEqual([
      'owner:ai-platform',
      expect.stringMatching(RECORD) as unknown,
      'finops-soar-before:weights=3.2',
    ]);
    expect(replicas()).toBe(replicasBefore! + 4);

    await setUtilization(0.5);
    await handle.signal(alertNotificationSignal, notification(resolved(alerting)));
    expect((await handle.result()).state).toBe('rolled-back');
    const rollback = (await handle.query(statusQuery)).rollback!;
    expect(
      rollback.events.filter(({ event }) => event.startsWith('shift-chat-to-eu back')).map(({ event }) => event),
    ).toEqual([
      'shift-chat-to-eu back by 0.5: region weights of route chat: us-east-1 0.3 → 0.45, eu-west-1 0.7 → 0.55',
      'shift-chat-to-eu back all the way: region weights of route chat: us-east-1 0.45 → 0.6, eu-west-1 0.55 → 0.4',
    ]);
    // Home at the raw weights 3 and 2, not 600 and 400; the held weights gone with the last stage.
    expect(kongState()).toEqual(before);
    expect(replicas()).toBe(replicasBefore);
  });
});

describe('a Kong write that fails, retried by Temporal', () => {
  const THROTTLE = `
name: kong-throttle
description: Slow a tenant down on a route, on Kong.
severity: S2
match: [alertname="TenantRequestBurst"]
target: route
steps:
  - id: slow-down
    action: gateway.setRoutePolicy
    params: { policy: { rateLimitRps: 2 } }
`;
  const burst = alert({ route: 'chat', tenant: 'acme', alertname: 'TenantRequestBurst' });
  const createsLimit = ({ method, url }: { method: string; url: string }) =>
    method === 'POST' && /^\/routes\/[0-9a-f-]{36}\/plugins$/.test(url);

  test.each([
    ['refused before it ran (503)', false],
    ['made, and its answer lost (503 after the write)', true],
  ])(
    "the create of acme's rate-limiting plugin %s: Temporal retries, the plugin is made once, with its true previous value; the rollback deletes it",
    async (_case, lose) => {
      const before = kongState();
      kong.faultOn(createsLimit, 503, { lose });
      const handle = await fire(THROTTLE, burst, { taskQueue: COST, gateway: 'kong', cooldownMs: 300 });
      await waitFor('the mitigation', () => harness.stateOf(handle, 'mitigated'), 60_000);
      const status = await handle.query(statusQuery);
      expect(summaries(status.applied)).toEqual([['slow-down', 'route chat (tenant acme): rateLimitRps unset → 2']]);
      expect(status.applied[0]!.previous).toEqual({ rateLimitRps: null });
      // Two tries posted the plugin when the first was refused; one when its answer was lost (the retry found it).
      expect(kong.requests.filter(createsLimit)).toHaveLength(lose ? 1 : 2);
      const limits = kong.plugins.filter(({ name }) => name === 'rate-limiting');
      expect(limits).toHaveLength(3); // core's, globex's, and the engine's for acme on chat
      expect(pluginOf('rate-limiting', { route: 'chat', consumer: 'acme' }).config).toMatchObject({
        second: 2,
        limit_by: 'consumer',
        policy: 'local',
      });

      await handle.signal(alertNotificationSignal, notification(resolved(burst)));
      expect((await handle.result()).state).toBe('rolled-back');
      expect(kongState()).toEqual(before);
    },
  );

  test("the rollback's DELETE of acme's rate-limiting plugin made, and its answer lost: Temporal retries the undo, which deletes nothing twice and ends as before", async () => {
    const before = kongState();
    const alerting = alert(
      { route: 'chat', tenant: 'acme', alertname: 'TenantRequestBurst' },
      { fingerprint: 'fp-lost-delete' },
    );
    const handle = await fire(THROTTLE, alerting, { taskQueue: COST, gateway: 'kong', cooldownMs: 300 });
    await waitFor('the mitigation', () => harness.stateOf(handle, 'mitigated'), 60_000);
    const deletes = () => kong.requests.filter(({ method }) => method === 'DELETE');
    kong.faultOn(({ method }) => method === 'DELETE', 503, { lose: true });
    await handle.signal(alertNotificationSignal, notification(resolved(alerting)));
    const summary = await handle.result();
    expect(summary.state).toBe('rolled-back');
    expect(summary.applied.map(({ undoneAt, undoError }) => [undoneAt !== null, undoError])).toEqual([[true, null]]);
    // One DELETE: the retry found the plugin gone and wrote nothing (what it answers: kong-gateway.test.ts).
    expect(deletes()).toHaveLength(1);
    expect(kongState()).toEqual(before);
  });

  test("someone changes how the engine's rate-limiting plugin counts, giving it no limit of their own: the rollback refuses to delete their work, and the run says why", async () => {
    const alerting = alert(
      { route: 'chat', tenant: 'acme', alertname: 'TenantRequestBurst' },
      { fingerprint: 'fp-refused-undo' },
    );
    const handle = await fire(THROTTLE, alerting, { taskQueue: COST, gateway: 'kong', cooldownMs: 300 });
    await waitFor('the mitigation', () => harness.stateOf(handle, 'mitigated'), 60_000);
    const limiter = pluginOf('rate-limiting', { route: 'chat', consumer: 'acme' });
    limiter.config.limit_by = 'ip';
    await handle.signal(alertNotificationSignal, notification(resolved(alerting)));
    const summary = await handle.result();
    expect(summary.state).toBe('rollback-failed');
    expect(summary.applied.map(({ stepId, undoneAt, undoError }) => ({ stepId, undoneAt, undoError }))).toEqual([
      {
        stepId: 'slow-down',
        undoneAt: null,
        undoError: `route chat, consumer acme: the rate-limiting plugin the engine made (${limiter.id}) was changed since by someone else (config.limit_by "ip"); the engine does not delete their work, and clearing its own config.second would leave the plugin no limit, which Kong refuses: give the plugin a limit of its own (e.g. config.minute), and the engine clears only config.second, or delete it`,
      },
    ]);
    // Refused, not retried: nothing was written, and the plugin is as they left it.
    expect(pluginOf('rate-limiting', { route: 'chat', consumer: 'acme' }).config).toMatchObject({
      second: 2,
      limit_by: 'ip',
    });
    expect(kong.requests.filter(({ method }) => method === 'DELETE' || method === 'PATCH')).toEqual([]);
  });
});
