// Runs on a real Temporal dev server acting on LiteLLM (gateway.kind litellm) through the LiteLLM adapter and its HTTP
// client, against a local server that speaks LiteLLM's admin API (test/helpers/litellm-proxy-server.ts): the plan
// skips what LiteLLM cannot do and says why, the run changes the team, and the rollback leaves it exactly as it was;
// a fault in the middle of a change is retried by Temporal and the change is made once.
import { LiteLlmGateway } from '../../gateway/litellm/litellm-gateway';
import type { LiteLlmDeployment, LiteLlmTeam } from '../../gateway/litellm/litellm-admin-client';
import { alertNotificationSignal, statusQuery } from '../../workflows/playbook-run/definitions';
import { alert, resolved } from '../helpers/alerts';
import { LITELLM_MASTER_KEY, LiteLlmProxyServer } from '../helpers/litellm-proxy-server';
import { waitFor } from '../helpers/wait';
import { notification, startHarness, type Harness } from '../helpers/workflow-harness';

const PLAYBOOK = `
name: cheaper-chat
description: Make a tenant's chat cheaper on LiteLLM.
severity: S2
# Only alerts that name a tenant: every route step then acts for the tenant, which LiteLLM can do.
match: [alertname="LLMSpendBurnRateHigh", tenant=~".+"]
target: route
steps:
  - id: current-policy
    check: gateway.getRoutePolicy
  - id: aggressive-cache
    action: gateway.setRoutePolicy
    params: { policy: { cacheMode: aggressive } }
    unsupported: skip
  - id: tier-down
    when: { facts: [{ fact: current-policy.modelTier, equals: premium }] }
    action: gateway.setRoutePolicy
    params: { policy: { modelTier: distilled, fallbackModel: premium } }
  - id: slow-down
    action: gateway.setRoutePolicy
    params: { policy: { rateLimitRps: 2 } }
  - id: daily-spend
    action: gateway.setTenantQuota
    params: { quota: { costPerDayUsd: 500, requestsPerSecond: 5 } }
`;

const ACME: LiteLlmTeam = {
  team_id: 'acme',
  models: [],
  tpm_limit: null,
  rpm_limit: 600,
  max_budget: null,
  budget_duration: null,
  blocked: false,
  metadata: { owner: 'finops' },
};

const DEPLOYMENTS: LiteLlmDeployment[] = ['chat', 'chat-standard', 'chat-distilled'].map((model_name) => ({
  model_name,
  litellm_params: { model: `openai/${model_name}` },
  model_info: { id: `${model_name}-1`, db_model: true },
}));

const QUEUE = 'on-litellm';
let harness: Harness;
let proxy: LiteLlmProxyServer;

beforeAll(async () => {
  [harness, proxy] = await Promise.all([startHarness(), LiteLlmProxyServer.start()]);
  // No tries within the call: a fault goes to the activity, for Temporal to retry.
  const gateway = new LiteLlmGateway({
    baseUrl: proxy.url,
    masterKey: LITELLM_MASTER_KEY,
    timeoutMs: 2_000,
    tiers: { premium: '{route}', standard: '{route}-standard', distilled: '{route}-distilled' },
  });
  await harness.startWorker(QUEUE, { gateway });
});
afterAll(async () => {
  await harness?.close();
  await proxy?.close();
});
beforeEach(() => {
  proxy.requests.length = 0;
  proxy.teams.clear();
  proxy.teams.set('acme', structuredClone(ACME));
  proxy.aliases.clear();
  proxy.deployments.length = 0;
  proxy.deployments.push(...structuredClone(DEPLOYMENTS));
  proxy.fallbacks.clear();
  proxy.fallbacks.set('chat-distilled', ['chat']);
});

/** The team as an operator sees it: every field, its aliases, its metadata without the engine's record. */
const teamView = () => {
  const { metadata, ...team } = proxy.teams.get('acme')!;
  const rest = { ...metadata };
  delete rest.finops_soar;
  return { ...team, metadata: rest, aliases: proxy.aliases.get('acme') ?? {} };
};

const firing = alert({ route: 'chat', tenant: 'acme', alertname: 'LLMSpendBurnRateHigh' });

test('a run on LiteLLM skips what it cannot do, saying why, changes the team, and the rollback puts it back exactly', async () => {
  const before = teamView();
  const handle = await harness.fire(PLAYBOOK, firing, { taskQueue: QUEUE, gateway: 'litellm', cooldownMs: 300 });
  await waitFor('the run to mitigate', () => harness.stateOf(handle, 'mitigated'));
  const status = await handle.query(statusQuery);
  expect(status.skipped).toEqual([
    {
      stepId: 'aggressive-cache',
      reason:
        'the litellm gateway cannot set policy.cacheMode (LiteLLM switches its response cache for the whole proxy only (/cache/settings))',
    },
  ]);
  expect(status.applied.map(({ stepId, summary }) => [stepId, summary])).toEqual([
    ['tier-down', 'route chat (tenant acme): modelTier unset → "distilled", fallbackModel unset → "premium"'],
    ['slow-down', 'route chat (tenant acme): rateLimitRps unset → 2'],
    ['daily-spend', 'quota of tenant acme: requestsPerSecond 10 → 5, costPerDayUsd unlimited → 500'],
  ]);
  expect(teamView()).toEqual({
    ...before,
    rpm_limit: 300,
    max_budget: 500,
    budget_duration: '1d',
    metadata: { owner: 'finops', model_rpm_limit: { chat: 120, 'chat-standard': 120, 'chat-distilled': 120 } },
    aliases: { chat: 'chat-distilled' },
  });

  await handle.signal(alertNotificationSignal, notification(resolved(firing)));
  expect((await handle.result()).state).toBe('rolled-back');
  expect(teamView()).toEqual(before);
});

const writesAlias = ({ url, body }: { url: string; body: unknown }) =>
  url === '/team/update' && typeof body === 'object' && body !== null && 'model_aliases' in body;

test.each([
  ['refused before it ran (503)', false],
  ['made, and its answer lost (503 after the write)', true],
])(
  'a LiteLLM write %s is retried by Temporal; the change is made once, with its true previous values',
  async (_case, lose) => {
    proxy.faultOn(writesAlias, 503, { lose });
    const before = teamView();
    const handle = await harness.fire(PLAYBOOK, firing, { taskQueue: QUEUE, gateway: 'litellm', cooldownMs: 300 });
    await waitFor('the run to mitigate', () => harness.stateOf(handle, 'mitigated'));
    const status = await handle.query(statusQuery);
    const tier = status.applied.filter(({ stepId }) => stepId === 'tier-down');
    expect(tier.map(({ previous }) => previous)).toEqual([{ modelTier: null, fallbackModel: null }]);
    // Two tries wrote the alias when the first was refused; one when its answer was lost (the retry found its record).
    expect(proxy.requests.filter(writesAlias)).toHaveLength(lose ? 1 : 2);
    const record = proxy.teams.get('acme')!.metadata.finops_soar as { changes: Record<string, unknown> };
    expect(Object.keys(record.changes).filter((key) => key.includes('tier-down'))).toHaveLength(1);

    await handle.signal(alertNotificationSignal, notification(resolved(firing)));
    expect((await handle.result()).state).toBe('rolled-back');
    expect(teamView()).toEqual(before);
  },
);
