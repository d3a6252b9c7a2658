// The shipped cost and capacity playbooks, whole life, on a LiteLLM gateway (gateway.kind litellm) on a real Temporal
// dev server, measured the way a LiteLLM user measures: LiteLLM's own metrics (test/helpers/litellm-traffic.ts, served
// at the proxy's /metrics) scraped by a real Prometheus that loads the shipped deploy/prometheus/litellm/litellm.rules.yml,
// so the budget's burn rate and the tier policy's latencies come from LiteLLM's spend and latency series. Each run does
// on LiteLLM what LiteLLM can do, skips the rest saying why, and its rollback leaves every team as it was.
// (capacity-s2's region move is test/workflow/litellm-capacity.test.ts; storage-egress and war-room touch no gateway.)
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LiteLlmDeployment, LiteLlmTeam } from '../../gateway/litellm/litellm-admin-client';
import { LiteLlmGateway } from '../../gateway/litellm/litellm-gateway';
import { PrometheusClient } from '../../prometheus/prometheus-client';
import { DEFAULT_CATALOG } from '../../simulator/platform/catalog';
import { seedCluster } from '../../simulator/simulated-platform';
import { alertNotificationSignal, decideUpdate, statusQuery } from '../../workflows/playbook-run/definitions';
import { TEST_FINOPS } from '../helpers/activities';
import { alert, resolved } from '../helpers/alerts';
import { LITELLM_MASTER_KEY, LiteLlmProxyServer } from '../helpers/litellm-proxy-server';
import { LiteLlmTraffic } from '../helpers/litellm-traffic';
import { startPrometheus, type RunningPrometheus } from '../helpers/prometheus';
import { waitFor } from '../helpers/wait';
import { notification, startHarness, type Harness } from '../helpers/workflow-harness';

const QUEUE = 'shipped-on-litellm';
const ROOT = join(__dirname, '..', '..');

const team = (team_id: string): LiteLlmTeam => ({
  team_id,
  models: [],
  tpm_limit: null,
  rpm_limit: 600,
  max_budget: null,
  budget_duration: null,
  blocked: false,
  metadata: { owner: 'finops' },
});

// chat on three tiers of model groups, as gateway.litellm.tiers' defaults name them; the cheaper tiers fall back to chat.
const GROUPS = {
  chat: { modelId: 'chat-1', usdPerRequest: 0.02, seconds: 3, inputTokens: 6000 },
  'chat-standard': { modelId: 'chat-standard-1', usdPerRequest: 0.004, seconds: 1.5, inputTokens: 6000 },
  'chat-distilled': { modelId: 'chat-distilled-1', usdPerRequest: 0.001, seconds: 0.8, inputTokens: 6000 },
};
const DEPLOYMENTS: LiteLlmDeployment[] = Object.entries(GROUPS).map(([model_name, { modelId }]) => ({
  model_name,
  litellm_params: { model: `openai/${model_name}` },
  model_info: { id: modelId, db_model: true },
}));

let harness: Harness;
let proxy: LiteLlmProxyServer;
let traffic: LiteLlmTraffic;
let prometheus: RunningPrometheus;
let promql: PrometheusClient;

beforeAll(async () => {
  [harness, proxy] = await Promise.all([startHarness(), LiteLlmProxyServer.start()]);
  seedCluster(harness.kube, DEFAULT_CATALOG);
  for (const name of ['acme', 'globex']) proxy.teams.set(name, team(name));
  proxy.deployments.push(...structuredClone(DEPLOYMENTS));
  proxy.fallbacks.set('chat-standard', ['chat']);
  proxy.fallbacks.set('chat-distilled', ['chat']);
  // 80 requests a second each on chat: $1.60 a second, about $4.2M a month.
  traffic = new LiteLlmTraffic(proxy, GROUPS, [
    { team: 'acme', route: 'chat', requestsPerTick: 20 },
    { team: 'globex', route: 'chat', requestsPerTick: 20 },
  ]);
  traffic.start();
  prometheus = await startPrometheus('', {
    scrape: [new URL(proxy.url).host],
    ruleFiles: [join(ROOT, 'deploy', 'prometheus', 'litellm', 'litellm.rules.yml')],
  });
  promql = new PrometheusClient({ baseUrl: prometheus.url, timeoutMs: 2_000 });
  // The tier check measures over 10 s (below): wait for that much of both teams in the recorded series.
  await waitFor(
    '10 s of LiteLLM traffic recorded as the engine reads it',
    async () => {
      const [samples] = await promql.query('min(count_over_time(inference_cost_usd_total{route="chat"}[15s]))');
      return (samples?.value ?? 0) >= 10 || undefined;
    },
    60_000,
  );
  await harness.startWorker(QUEUE, {
    prometheusUrl: prometheus.url,
    gateway: new LiteLlmGateway({
      baseUrl: proxy.url,
      masterKey: LITELLM_MASTER_KEY,
      timeoutMs: 2_000,
      tiers: { premium: '{route}', standard: '{route}-standard', distilled: '{route}-distilled' },
    }),
    // Budgets that $4.2M a month burns at about 4 times their pace.
    finops: {
      ...TEST_FINOPS,
      budgets: {
        acme: { monthlyUsd: 1_000_000, selector: 'tenant="acme"' },
        globex: { monthlyUsd: 1_000_000, selector: 'tenant="globex"' },
      },
    },
  });
}, 180_000);
afterAll(async () => {
  traffic?.stop();
  await harness?.close();
  await prometheus?.close();
  await proxy?.close();
});

const seed = (name: string) => readFileSync(join(ROOT, 'playbooks', `${name}.yaml`), 'utf8');
// The tier check measures over 10 s rather than 5 minutes: the test's Prometheus holds seconds.
const shortTierWindow = (playbook: string) => playbook.replace('      window: 5m\n', '      window: 10s\n');

/** A team as an operator sees it: every field, its aliases, its metadata without the engine's record. */
const teamView = (name: string) => {
  const { metadata, ...rest } = proxy.teams.get(name)!;
  const own = { ...metadata };
  delete own.finops_soar;
  return { ...rest, metadata: own, aliases: proxy.aliases.get(name) ?? {} };
};
// The adapter reads a team's aliases with a /team/update that names no field (docs/gateways.md): that is no write.
const writes = () =>
  proxy.requests.filter(
    ({ method, url, body }) =>
      method !== 'GET' && !(url === '/team/update' && Object.keys(body as object).length === 1),
  );

/** The team's spend on chat per second, as the engine reads it from LiteLLM's metrics. */
async function spendPerSecond(tenant: string): Promise<number | undefined> {
  const [sample] = await promql.query(`sum(rate(inference_cost_usd_total{tenant="${tenant}",route="chat"}[3s]))`);
  return sample?.value;
}

test("cost-s2 on LiteLLM: skips the knobs LiteLLM lacks, saying why; the budget burns above pace in LiteLLM's spend, so the tier policy (on LiteLLM's latencies) moves acme to chat-distilled once approved; its spend falls; the rollback restores the team exactly", async () => {
  const before = teamView('acme');
  const firing = alert({ route: 'chat', tenant: 'acme', alertname: 'LLMSpendBurnRateHigh', severity: 'S2' });
  const handle = await harness.fire([shortTierWindow(seed('cost-s2')), seed('cost-s1')], firing, {
    taskQueue: QUEUE,
    gateway: 'litellm',
    cooldownOverrideMs: 300,
    verifyOverride: { withinMs: 2_000, everyMs: 500 },
  });
  await waitFor('the approval request', () => harness.stateOf(handle, 'awaiting-approval'));
  const asking = await handle.query(statusQuery);
  expect(asking.pendingApproval?.stepId).toBe('approve-cheaper-tier');
  expect((asking.facts['burn-now'] as { burnRate: number }).burnRate).toBeGreaterThan(2);
  expect(asking.facts['which-tier']).toMatchObject({
    tier: 'distilled',
    cheaper: true,
    currentTier: 'premium',
    // acme's own p95 from LiteLLM's histogram: its requests take 3 s, in the (2, 4] bucket.
    p95LatencyMs: 3900,
    tierLatencyFrom: { distilled: 'expected', standard: 'expected' },
  });
  expect(asking.skipped.map(({ stepId, reason }) => [stepId, reason])).toEqual([
    [
      'cap-context',
      'the litellm gateway cannot set policy.maxInputTokens (per tenant: LiteLLM caps input tokens per deployment, for every team alike)',
    ],
    [
      'aggressive-cache',
      'the litellm gateway cannot set policy.cacheMode (LiteLLM switches its response cache for the whole proxy only (/cache/settings))',
    ],
    ['compress-prompts', 'the litellm gateway cannot set policy.promptCompression (LiteLLM does not compress prompts)'],
    [
      'cap-daily-tokens',
      "the litellm gateway cannot set quota.tokensPerDay (LiteLLM limits tokens per minute (tpm_limit), not per day; use a team's budget)",
    ],
  ]);
  expect(writes()).toEqual([]);

  const premiumSpend = await spendPerSecond('acme');
  expect(premiumSpend).toBeGreaterThan(1);
  await handle.executeUpdate(decideUpdate, {
    args: [{ stepId: 'approve-cheaper-tier', approve: true, by: 'U0FINOPS' }],
  });
  await waitFor('the run to mitigate', () => harness.stateOf(handle, 'mitigated'));
  const mitigated = await handle.query(statusQuery);
  expect(mitigated.applied.map(({ stepId, summary }) => [stepId, summary])).toEqual([
    ['tier-distilled', 'route chat (tenant acme): modelTier unset → "distilled", fallbackModel unset → "premium"'],
  ]);
  expect(teamView('acme')).toEqual({ ...before, aliases: { chat: 'chat-distilled' } });
  // LiteLLM now serves acme's chat from chat-distilled; LiteLLM's spend, counted back to route chat, falls twentyfold.
  expect(traffic.groupServing('acme', 'chat')).toBe('chat-distilled');
  await waitFor('acme to spend less on chat', async () => ((await spendPerSecond('acme')) ?? 1) < 0.2 || undefined);

  await handle.signal(alertNotificationSignal, notification(resolved(firing)));
  expect((await handle.result()).state).toBe('rolled-back');
  expect(teamView('acme')).toEqual(before);
  expect(traffic.groupServing('acme', 'chat')).toBe('chat');
}, 120_000);

test('cost-s1 on LiteLLM: the tier the policy names at once, no approval needed; a rejected throttle is never applied; the rollback restores the team exactly', async () => {
  proxy.requests.length = 0;
  const before = teamView('globex');
  const firing = alert({ route: 'chat', tenant: 'globex', alertname: 'LLMSpendBurnRateHigh', severity: 'S1' });
  const handle = await harness.fire(shortTierWindow(seed('cost-s1')), firing, {
    taskQueue: QUEUE,
    gateway: 'litellm',
    cooldownOverrideMs: 300,
  });
  await waitFor('the throttle approval', () => harness.stateOf(handle, 'awaiting-approval'));
  expect(teamView('globex')).toEqual({ ...before, aliases: { chat: 'chat-distilled' } });

  await handle.executeUpdate(decideUpdate, {
    args: [{ stepId: 'approve-throttle', approve: false, by: 'U0PRODUCT', reason: 'enterprise launch' }],
  });
  await waitFor('the run to mitigate', () => harness.stateOf(handle, 'mitigated'));
  const status = await handle.query(statusQuery);
  expect(status.applied.map(({ stepId }) => stepId)).toEqual(['tier-distilled']);
  expect(status.skipped.map(({ stepId }) => stepId)).toEqual([
    'cap-context',
    'cut-cost-per-request',
    'tier-standard',
    'cap-daily-tokens',
    'approve-throttle',
    'adaptive-throttle',
  ]);
  // Only the alias was written: no rate limit went to the team.
  expect(writes().map(({ url, body }) => [url, Object.keys(body as object).sort()])).toEqual([
    ['/team/update', ['metadata', 'model_aliases', 'team_id']],
  ]);

  await handle.signal(alertNotificationSignal, notification(resolved(firing)));
  expect((await handle.result()).state).toBe('rolled-back');
  expect(teamView('globex')).toEqual(before);
}, 120_000);

test('capacity-s1 on LiteLLM: the war-room, the approval by two people and the page; priority and circuit breaking are skipped, saying LiteLLM has neither, and LiteLLM is never written', async () => {
  proxy.requests.length = 0;
  const firing = alert({
    alertname: 'GPUSaturatedQueueGrowing',
    severity: 'S1',
    namespace: 'inference',
    deployment: 'llm-premium-us-east-1',
  });
  const handle = await harness.fire(seed('capacity-s1'), firing, {
    taskQueue: QUEUE,
    gateway: 'litellm',
    cooldownOverrideMs: 300,
  });
  await waitFor('the approval request', () => harness.stateOf(handle, 'awaiting-approval'));
  for (const by of ['U0SRE', 'U0PRODUCT'])
    await handle.executeUpdate(decideUpdate, { args: [{ stepId: 'approve-circuit-break', approve: true, by }] });
  await waitFor('the run to mitigate', () => harness.stateOf(handle, 'mitigated'));
  const status = await handle.query(statusQuery);
  expect(status.applied).toEqual([]);
  const lacks = (step: string, knob: string, why: string) => [step, `the litellm gateway cannot set ${knob} (${why})`];
  const noPriority = 'LiteLLM has no per-route or per-tenant scheduling priority';
  const noCircuit =
    "a team's models can be narrowed, but a model alias passes LiteLLM's access check regardless (auth_checks.py), and nothing refuses a model group to everyone";
  expect(status.skipped.map(({ stepId, reason }) => [stepId, reason])).toEqual([
    lacks('prioritise-core', 'policy.priority', noPriority),
    lacks('prioritise-risk', 'policy.priority', noPriority),
    lacks('prioritise-fraud', 'policy.priority', noPriority),
    lacks('break-code-assist', 'policy.circuit', noCircuit),
    lacks('break-summarize', 'policy.circuit', noCircuit),
  ]);
  expect(harness.notifierLog).toContainEqual(
    expect.objectContaining({
      msg: expect.stringMatching(/^notify sre, product, finops: S1 capacity on inference/) as unknown,
    }),
  );

  await handle.signal(alertNotificationSignal, notification(resolved(firing)));
  expect((await handle.result()).state).toBe('rolled-back');
  expect(writes()).toEqual([]);
}, 120_000);
