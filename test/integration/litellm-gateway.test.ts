// The LiteLLM gateway adapter (gateway/litellm/) through its real HTTP client against a local server that speaks
// LiteLLM's admin API as its source defines it (test/helpers/litellm-proxy-server.ts): the exact requests of each
// change, the undo the engine sends putting the object back as it was, a retry with the same key writing nothing,
// someone else's write between the adapter's read and its write, 5xx faults, and the changes LiteLLM cannot make.
import { createGatewayActivities } from '../../gateway/gateway-activities';
import { LiteLlmGateway } from '../../gateway/litellm/litellm-gateway';
import type { LiteLlmDeployment, LiteLlmTeam } from '../../gateway/litellm/litellm-admin-client';
import type { ActionRequest } from '../../activities/action-contract';
import { LITELLM_MASTER_KEY, LiteLlmProxyServer } from '../helpers/litellm-proxy-server';
import { gatewayFailure as failure } from '../helpers/gateway-failure';

let proxy: LiteLlmProxyServer;
let gateway: LiteLlmGateway;

const TIERS = { premium: '{route}', standard: '{route}-standard', distilled: '{route}-distilled' };

const ACME: LiteLlmTeam = {
  team_id: 'acme',
  models: [],
  tpm_limit: null,
  rpm_limit: 600,
  max_budget: null,
  budget_duration: null,
  blocked: false,
  metadata: { owner: 'finops', team_member_budget_id: 'b-1' },
};

const deployment = (id: string, model_name: string, params: object, info: object = {}): LiteLlmDeployment => ({
  model_name,
  litellm_params: { model: `openai/${id}`, ...params },
  model_info: { id, db_model: true, ...info },
});

const DEPLOYMENTS = [
  deployment('chat-us', 'chat', { weight: 3, region_name: 'us-east-1' }, { max_input_tokens: 32_768 }),
  deployment('chat-eu', 'chat', { weight: 1, region_name: 'eu-west-1' }, { max_input_tokens: 32_768 }),
  deployment('chat-distilled-1', 'chat-distilled', { region_name: 'us-east-1' }, { max_input_tokens: 16_384 }),
  deployment('chat-standard-1', 'chat-standard', { region_name: 'us-east-1' }),
];

beforeAll(async () => {
  proxy = await LiteLlmProxyServer.start();
  gateway = new LiteLlmGateway({ baseUrl: proxy.url, masterKey: LITELLM_MASTER_KEY, timeoutMs: 2_000, tiers: TIERS });
});
afterAll(() => proxy?.close());
beforeEach(() => {
  proxy.requests.length = 0;
  proxy.teams.clear();
  proxy.teams.set('acme', structuredClone(ACME));
  proxy.teams.set('globex', { ...structuredClone(ACME), team_id: 'globex', max_budget: 1000, budget_duration: '30d' });
  proxy.aliases.clear();
  proxy.deployments.length = 0;
  proxy.deployments.push(...structuredClone(DEPLOYMENTS));
  proxy.fallbacks.clear();
  proxy.fallbacks.set('chat-distilled', ['chat']);
});

/** Method and path of each request since the last call; the writes with their bodies. */
const traffic = () => {
  const requests = proxy.requests.splice(0);
  return {
    calls: requests.map(({ method, url }) => `${method} ${url}`),
    writes: requests.filter(({ method, body }) => method !== 'GET' && JSON.stringify(body) !== '{"team_id":"acme"}'),
  };
};

/** The team as an operator sees it: every field, the aliases, and its metadata without the engine's record. */
const teamView = (id: string) => {
  const { metadata, ...team } = proxy.teams.get(id)!;
  const rest = { ...metadata };
  delete rest.finops_soar;
  return { ...team, metadata: rest, aliases: proxy.aliases.get(id) ?? {} };
};

describe("a tenant's tier: the team's model alias", () => {
  test('tiered down with its fallback checked; the exact requests; the undo puts the team back', async () => {
    const before = teamView('acme');
    const change = await gateway.patchRoutePolicy(
      { route: 'chat', tenant: 'acme' },
      { modelTier: 'distilled', fallbackModel: 'premium' },
      { idempotencyKey: 'run-1/tier-distilled/apply' },
    );
    expect(change.previous).toEqual({ modelTier: null, fallbackModel: null });
    expect(change.policy).toEqual({ modelTier: 'distilled' });
    expect(change.effective).toMatchObject({
      modelTier: 'distilled',
      fallbackModel: 'premium',
      maxInputTokens: 16_384,
    });
    const { calls, writes } = traffic();
    expect(calls).toEqual([
      'GET /team/info?team_id=acme',
      'POST /team/update', // the aliases, read by an update that names no field
      'GET /model/info',
      'GET /fallback/chat',
      'GET /model/info',
      'GET /fallback/chat-distilled',
      'GET /team/info?team_id=acme', // read again just before the write
      'POST /team/update',
      'GET /model/info',
      'GET /fallback/chat-distilled',
    ]);
    expect(writes.map(({ body }) => body)).toEqual([
      {
        team_id: 'acme',
        model_aliases: { chat: 'chat-distilled' },
        metadata: {
          owner: 'finops',
          team_member_budget_id: 'b-1',
          finops_soar: {
            changes: {
              'run-1/tier-distilled/apply': {
                at: expect.any(String) as unknown,
                answer: { modelTier: null, fallbackModel: null },
              },
            },
          },
        },
      },
    ]);
    expect(writes[0]?.authorization).toBe(`Bearer ${LITELLM_MASTER_KEY}`);

    // The undo the engine sends: the previous values.
    await gateway.patchRoutePolicy(
      { route: 'chat', tenant: 'acme' },
      { modelTier: null, fallbackModel: null },
      { idempotencyKey: 'run-1/tier-distilled/undo' },
    );
    expect(teamView('acme')).toEqual(before);
  });

  test('a retry with the same key answers what the first try did and writes nothing', async () => {
    const scope = { route: 'chat', tenant: 'acme' };
    const first = await gateway.patchRoutePolicy(scope, { modelTier: 'standard' }, { idempotencyKey: 'k1' });
    traffic();
    const again = await gateway.patchRoutePolicy(scope, { modelTier: 'standard' }, { idempotencyKey: 'k1' });
    expect(again.previous).toEqual(first.previous);
    expect(traffic().writes).toEqual([]);
  });

  test('a tier whose group does not fall back to the asked tier is refused, naming the fix; nothing is written', async () => {
    proxy.fallbacks.delete('chat-distilled');
    const error = await failure(
      gateway.patchRoutePolicy(
        { route: 'chat', tenant: 'acme' },
        { modelTier: 'distilled', fallbackModel: 'premium' },
        { idempotencyKey: 'k2' },
      ),
    );
    expect(error.retryable).toBe(false);
    expect(error.message).toBe(
      'LiteLLM\'s fallbacks belong to a model group, and chat-distilled falls back to nothing, not chat (tier premium): configure it once (router_settings.fallbacks, or POST /fallback {"model": "chat-distilled", "fallback_models": ["chat"]}), or leave fallbackModel out of the step',
    );
    expect(traffic().writes).toEqual([]);
    expect(proxy.aliases.get('acme')).toBeUndefined();
  });

  test('a tier no deployment serves is refused', async () => {
    const error = await failure(
      gateway.patchRoutePolicy(
        { route: 'embeddings', tenant: 'acme' },
        { modelTier: 'distilled' },
        { idempotencyKey: 'k3' },
      ),
    );
    expect(error.message).toMatch(/^no LiteLLM deployment serves model group embeddings-distilled/);
  });

  test("someone else's write between the read and the write fails the try (retryable), and the retry keeps both", async () => {
    proxy.afterNextTeamRead = () => {
      proxy.teams.get('acme')!.metadata.owner = 'platform';
    };
    const scope = { route: 'chat', tenant: 'acme' };
    const error = await failure(gateway.patchRoutePolicy(scope, { modelTier: 'standard' }, { idempotencyKey: 'k4' }));
    expect([error.retryable, error.status]).toEqual([true, 409]);
    expect(error.message).toMatch(/^LiteLLM team acme changed while the engine was changing it/);
    expect(traffic().writes).toEqual([]);

    await gateway.patchRoutePolicy(scope, { modelTier: 'standard' }, { idempotencyKey: 'k4' });
    expect(teamView('acme')).toMatchObject({ metadata: { owner: 'platform' }, aliases: { chat: 'chat-standard' } });
  });
});

describe("a tenant's request rate on a route and its quotas", () => {
  test('rateLimitRps is the team metadata.model_rpm_limit of every group of the route; the rest of the metadata stays', async () => {
    const before = teamView('acme');
    const scope = { route: 'chat', tenant: 'acme' };
    const change = await gateway.patchRoutePolicy(scope, { rateLimitRps: 2 }, { idempotencyKey: 'r1' });
    expect(change.previous).toEqual({ rateLimitRps: null });
    expect(proxy.teams.get('acme')!.metadata).toMatchObject({
      owner: 'finops',
      team_member_budget_id: 'b-1',
      model_rpm_limit: { chat: 120, 'chat-standard': 120, 'chat-distilled': 120 },
    });
    expect((await gateway.getRoutePolicy(scope)).effective.rateLimitRps).toBe(2);
    await gateway.patchRoutePolicy(scope, { rateLimitRps: null }, { idempotencyKey: 'r1-undo' });
    expect(teamView('acme')).toEqual(before);
  });

  test('a limit someone set on one group of the route is put back exactly by the undo', async () => {
    proxy.teams.get('acme')!.metadata.model_rpm_limit = { 'chat-distilled': 30, summarize: 10 };
    const before = teamView('acme');
    const scope = { route: 'chat', tenant: 'acme' };
    const change = await gateway.patchRoutePolicy(scope, { rateLimitRps: 2 }, { idempotencyKey: 'r2' });
    expect(proxy.teams.get('acme')!.metadata.model_rpm_limit).toEqual({
      chat: 120,
      'chat-standard': 120,
      'chat-distilled': 120,
      summarize: 10,
    });
    // A later level of an adapt step, then the undo the engine sends (the previous value it was told).
    await gateway.patchRoutePolicy(scope, { rateLimitRps: 1 }, { idempotencyKey: 'r3' });
    await gateway.patchRoutePolicy(
      scope,
      { rateLimitRps: change.previous.rateLimitRps as number | null },
      { idempotencyKey: 'r2-undo' },
    );
    expect(teamView('acme')).toEqual(before);
    expect(proxy.teams.get('acme')!.metadata.finops_soar).not.toHaveProperty('before');
  });

  test('requestsPerSecond is rpm_limit, costPerDayUsd a daily max_budget; the undo restores both exactly', async () => {
    const before = teamView('acme');
    const change = await gateway.patchTenantQuota(
      'acme',
      { requestsPerSecond: 5, costPerDayUsd: 500 },
      { idempotencyKey: 'q1' },
    );
    expect(change.previous).toEqual({ requestsPerSecond: 10, costPerDayUsd: null });
    expect(change.quota).toEqual({ tokensPerDay: null, requestsPerSecond: 5, costPerDayUsd: 500 });
    expect(traffic().writes.map(({ body }) => body)).toEqual([
      expect.objectContaining({ team_id: 'acme', rpm_limit: 300, max_budget: 500, budget_duration: '1d' }),
    ]);
    await gateway.patchTenantQuota('acme', change.previous, { idempotencyKey: 'q1-undo' });
    expect(teamView('acme')).toEqual(before);
  });

  test('a team with a budget period but no budget gets it back when the daily budget goes, and keeps no record of it', async () => {
    Object.assign(proxy.teams.get('acme')!, { budget_duration: '1d' });
    const before = teamView('acme');
    const change = await gateway.patchTenantQuota('acme', { costPerDayUsd: 80 }, { idempotencyKey: 'q4' });
    await gateway.patchTenantQuota('acme', change.previous, { idempotencyKey: 'q4-undo' });
    expect(teamView('acme')).toEqual(before);
    expect(proxy.teams.get('acme')!.metadata.finops_soar).not.toHaveProperty('before');
  });

  test('a team with a budget of another period is not turned into a daily one; a daily token quota is refused', async () => {
    const monthly = await failure(gateway.patchTenantQuota('globex', { costPerDayUsd: 50 }, { idempotencyKey: 'q2' }));
    expect(monthly.message).toBe(
      'LiteLLM team globex has a budget of $1000 per 30d; the engine will not turn it into a daily one. Set a daily budget by hand, or leave costPerDayUsd out of the step',
    );
    const tokens = await failure(gateway.patchTenantQuota('acme', { tokensPerDay: 5e9 }, { idempotencyKey: 'q3' }));
    expect([tokens.retryable, tokens.message]).toEqual([
      false,
      "LiteLLM cannot set quota.tokensPerDay: LiteLLM limits tokens per minute (tpm_limit), not per day; use a team's budget (docs/gateways.md)",
    ]);
    expect(traffic().writes).toEqual([]);
  });
});

describe("a whole route: its deployments' cap and weights, its group's fallback", () => {
  test('maxInputTokens on each deployment, the record first; undone to the cap each had', async () => {
    const change = await gateway.patchRoutePolicy(
      { route: 'chat' },
      { maxInputTokens: 4096 },
      { idempotencyKey: 'm1' },
    );
    expect(change.previous).toEqual({ maxInputTokens: 32_768 });
    const { writes } = traffic();
    expect(writes.map(({ method, url, body }) => [method, url, body])).toEqual([
      [
        'PATCH',
        '/model/chat-eu/update',
        {
          model_info: {
            finops_soar: { changes: { m1: { at: expect.any(String) as unknown, answer: { maxInputTokens: 32_768 } } } },
          },
        },
      ],
      ['PATCH', '/model/chat-us/update', { model_info: { max_input_tokens: 4096 } }],
      ['PATCH', '/model/chat-eu/update', { model_info: { max_input_tokens: 4096 } }],
    ]);
    await gateway.patchRoutePolicy({ route: 'chat' }, { maxInputTokens: 32_768 }, { idempotencyKey: 'm1-undo' });
    expect(
      proxy.deployments
        .filter(({ model_name }) => model_name === 'chat')
        .map(({ model_info }) => model_info.max_input_tokens),
    ).toEqual([32_768, 32_768]);
  });

  test('a try that fails after its record is retried: the writes are made, with the values from before the first try', async () => {
    const capping = ({ method, body }: { method: string; body: unknown }) =>
      method === 'PATCH' && JSON.stringify(body) === '{"model_info":{"max_input_tokens":4096}}';
    proxy.faultOn(capping, 503, { lose: false });
    const key = { idempotencyKey: 'm3' };
    const error = await failure(gateway.patchRoutePolicy({ route: 'chat' }, { maxInputTokens: 4096 }, key));
    expect(error.retryable).toBe(true);
    const change = await gateway.patchRoutePolicy({ route: 'chat' }, { maxInputTokens: 4096 }, key);
    expect(change.previous).toEqual({ maxInputTokens: 32_768 });
    expect(change.policy.maxInputTokens).toBe(4096);

    const weighting = ({ method, body }: { method: string; body: unknown }) =>
      method === 'PATCH' && JSON.stringify(body).startsWith('{"litellm_params":{"weight"');
    proxy.faultOn(weighting, 503, { lose: true });
    const split = { weights: { 'us-east-1': 0.5, 'eu-west-1': 0.5 } };
    await failure(gateway.setRegionWeights('chat', split, { idempotencyKey: 'w3' }));
    const moved = await gateway.setRegionWeights('chat', split, { idempotencyKey: 'w3' });
    expect(moved.previous).toEqual({ weights: { 'us-east-1': 0.75, 'eu-west-1': 0.25 } });
    expect(moved.weights).toEqual({ 'us-east-1': 0.5, 'eu-west-1': 0.5 });
  });

  test('a cap LiteLLM could not take back (a deployment without one) is refused', async () => {
    const error = await failure(
      gateway.patchRoutePolicy({ route: 'chat-standard' }, { maxInputTokens: 4096 }, { idempotencyKey: 'm2' }),
    );
    expect(error.message).toMatch(
      /^model group chat-standard: the engine changes max_input_tokens only where every deployment already has the same one/,
    );
  });

  test("the route's fallback is its group's; undone by deleting it", async () => {
    const change = await gateway.patchRoutePolicy(
      { route: 'chat' },
      { fallbackModel: 'standard' },
      { idempotencyKey: 'f1' },
    );
    expect(change.previous).toEqual({ fallbackModel: null });
    expect(proxy.fallbacks.get('chat')).toEqual(['chat-standard']);
    await gateway.patchRoutePolicy({ route: 'chat' }, { fallbackModel: null }, { idempotencyKey: 'f1-undo' });
    expect(proxy.fallbacks.has('chat')).toBe(false);
    expect(traffic().calls.filter((call) => !call.startsWith('GET'))).toEqual([
      'PATCH /model/chat-eu/update',
      'POST /fallback',
      'PATCH /model/chat-eu/update',
      'DELETE /fallback/chat',
    ]);
  });

  test('region weights by region_name; the undo writes back the raw weights each deployment had', async () => {
    expect((await gateway.getRegionWeights('chat')).weights).toEqual({ 'us-east-1': 0.75, 'eu-west-1': 0.25 });
    const change = await gateway.setRegionWeights(
      'chat',
      { weights: { 'us-east-1': 0.3, 'eu-west-1': 0.7 } },
      { idempotencyKey: 'w1' },
    );
    expect(change.previous).toEqual({ weights: { 'us-east-1': 0.75, 'eu-west-1': 0.25 } });
    expect(change.weights).toEqual({ 'us-east-1': 0.3, 'eu-west-1': 0.7 });
    const weights = () =>
      Object.fromEntries(
        proxy.deployments.map(({ model_info, litellm_params }) => [model_info.id, litellm_params.weight]),
      );
    expect(weights()).toMatchObject({ 'chat-us': 0.3, 'chat-eu': 0.7 });
    await gateway.setRegionWeights('chat', change.previous, { idempotencyKey: 'w1-undo' });
    expect(weights()).toMatchObject({ 'chat-us': 3, 'chat-eu': 1 });
  });

  test('weights on a group whose deployments carry none are refused (LiteLLM could not remove them again)', async () => {
    const error = await failure(
      gateway.setRegionWeights('chat-distilled', { weights: { 'us-east-1': 1 } }, { idempotencyKey: 'w2' }),
    );
    expect(error.message).toMatch(
      /^model group chat-distilled: deployment chat-distilled-1 has no litellm_params.weight/,
    );
  });
});

describe('faults and knobs LiteLLM lacks', () => {
  test('a 503 is tried again within the call; beyond the tries it is a retryable GatewayError', async () => {
    const patient = new LiteLlmGateway({
      baseUrl: proxy.url,
      masterKey: LITELLM_MASTER_KEY,
      timeoutMs: 2_000,
      tiers: TIERS,
      attempts: 3,
      backoffMs: 1,
    });
    proxy.failNext(503, 503);
    expect((await patient.getTenantQuota('acme')).quota.requestsPerSecond).toBe(10);
    proxy.failNext(503);
    const error = await failure(gateway.getTenantQuota('acme'));
    expect([error.retryable, error.status]).toEqual([true, 503]);
  });

  test.each([
    [{ route: 'chat', tenant: 'acme' }, { cacheMode: 'aggressive' as const }, 'policy.cacheMode'],
    [{ route: 'chat', tenant: 'acme' }, { maxInputTokens: 4096 }, 'policy.maxInputTokens'],
    [{ route: 'chat' }, { modelTier: 'distilled' }, 'policy.modelTier'],
    [{ route: 'chat' }, { circuit: { state: 'open' as const, failMode: 'closed' as const } }, 'policy.circuit'],
  ])('%j %j is refused before any call: LiteLLM cannot set %s', async (scope, patch, knob) => {
    const error = await failure(gateway.patchRoutePolicy(scope, patch, { idempotencyKey: 'x' }));
    expect(error.retryable).toBe(false);
    expect(error.message).toMatch(
      new RegExp(`^LiteLLM cannot set ${knob.replace('.', '\\.')}: .* \\(docs/gateways\\.md\\)$`),
    );
    expect(proxy.requests).toEqual([]);
  });

  test("through the engine's activity: the change and the undo it returns leave the team as it was", async () => {
    const activities = createGatewayActivities(gateway, {
      protectedRoutes: [],
      sensitiveRoutes: [],
      protectedTenants: [],
    });
    const input = (params: unknown, idempotencyKey: string, purpose: 'apply' | 'undo'): ActionRequest => ({
      target: { kind: 'route', key: 'route=chat,tenant=acme', labels: { route: 'chat', tenant: 'acme' } },
      params,
      idempotencyKey,
      purpose,
      dryRun: false,
    });
    const before = teamView('acme');
    const applied = await activities['gateway.setTenantQuota'](input({ quota: { costPerDayUsd: 250 } }, 'a1', 'apply'));
    expect(applied.summary).toBe('quota of tenant acme: costPerDayUsd unlimited → 250');
    await activities[applied.undo!.action as 'gateway.setTenantQuota'](input(applied.undo!.params, 'a1-undo', 'undo'));
    expect(teamView('acme')).toEqual(before);
  });
});
