// The simulator's gateway state (simulator/policy-store.ts): route policies and tenant overrides,
// tenant quotas and region weights, the one write path they share (idempotency keys, If-Match
// revisions, the change log), and the read-only view the simulated platform uses.
import {
  regionWeightsSchema,
  routePolicySchema,
  tenantQuotaPatchSchema,
  tenantQuotaSchema,
  type RoutePolicy,
  type RoutePolicyPatch,
} from '../../gateway/control-api';
import {
  PolicyStore,
  PolicyStoreError,
  SEED_ROUTES,
  SEED_TENANTS,
  type PolicyView,
} from '../../simulator/policy-store';

function errorOf(run: () => unknown): PolicyStoreError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(PolicyStoreError);
    return error as PolicyStoreError;
  }
  throw new Error('expected a PolicyStoreError');
}

const CHAT_DEFAULTS: RoutePolicy = {
  maxInputTokens: 32_768,
  cacheMode: 'standard',
  modelTier: 'premium',
  fallbackModel: null,
  rateLimitRps: null,
  circuit: { state: 'closed', failMode: 'open' },
  priority: 5,
  promptCompression: false,
};

const UNLIMITED = { tokensPerDay: null, requestsPerSecond: null, costPerDayUsd: null };

describe('reading route and tenant policies', () => {
  test('a route scope: its own policy, the effective one, revision 1', () => {
    expect(new PolicyStore().get({ route: 'chat' })).toEqual({
      route: 'chat',
      tenant: null,
      policy: CHAT_DEFAULTS,
      effective: CHAT_DEFAULTS,
      revision: 1,
    });
  });

  test('seed routes layer their values over the defaults', () => {
    const store = new PolicyStore();
    expect(store.get({ route: 'embeddings' }).effective).toEqual({
      ...CHAT_DEFAULTS,
      maxInputTokens: 8_192,
      cacheMode: 'aggressive',
      modelTier: 'standard',
    });
    expect(store.get({ route: 'fraud' }).effective).toMatchObject({
      priority: 10,
      circuit: { state: 'closed', failMode: 'closed' },
    });
    expect(store.routes()).toEqual(Object.keys(SEED_ROUTES));
  });

  test('every seeded policy is a valid policy', () => {
    const store = new PolicyStore();
    for (const route of store.routes())
      expect(routePolicySchema.safeParse(store.get({ route }).effective).success).toBe(true);
  });

  test('a tenant without overrides: no own policy, the route policy as effective, revision 0', () => {
    expect(new PolicyStore().get({ route: 'summarize', tenant: 'acme' })).toEqual({
      route: 'summarize',
      tenant: 'acme',
      policy: {},
      effective: { ...CHAT_DEFAULTS, maxInputTokens: 65_536 },
      revision: 0,
    });
  });

  test('a custom set of routes', () => {
    const store = new PolicyStore({ routes: { only: { policy: { priority: 1 }, regions: { 'us-east-1': 1 } } } });
    expect(store.routes()).toEqual(['only']);
    expect(store.get({ route: 'only' }).effective.priority).toBe(1);
    expect(errorOf(() => store.get({ route: 'chat' }))).toMatchObject({ status: 404, code: 'route_not_found' });
  });

  test('documents are copies: changing one does not change the store', () => {
    // The route brings its own circuit object, so a failure here cannot leak into the module's defaults.
    const store = new PolicyStore({
      routes: { chat: { policy: { circuit: { state: 'closed', failMode: 'open' } }, regions: { 'us-east-1': 1 } } },
    });
    const document = store.get({ route: 'chat' });
    document.policy.maxInputTokens = 1;
    document.effective.circuit.state = 'open';
    expect(store.get({ route: 'chat' }).effective).toEqual(CHAT_DEFAULTS);
    const tenant = store.get({ route: 'chat', tenant: 'acme' });
    tenant.effective.circuit.failMode = 'closed';
    expect(store.get({ route: 'chat', tenant: 'acme' }).effective.circuit).toEqual({
      state: 'closed',
      failMode: 'open',
    });
  });

  test('an unknown route is a 404 listing the known ones, for a route or a tenant scope', () => {
    const store = new PolicyStore();
    for (const scope of [{ route: 'nope' }, { route: 'nope', tenant: 'acme' }]) {
      const error = errorOf(() => store.get(scope));
      expect(error).toMatchObject({ status: 404, code: 'route_not_found' });
      expect(error.message).toBe(
        'route nope does not exist; known routes: chat, summarize, code-assist, embeddings, core, risk, fraud',
      );
    }
  });
});

describe('patching a route', () => {
  test('returns the values it replaced and the new document, and bumps the revision', () => {
    const store = new PolicyStore();
    const { change, replayed } = store.patch(
      { route: 'summarize' },
      { maxInputTokens: 8_192, cacheMode: 'aggressive' },
    );
    expect(replayed).toBe(false);
    expect(change).toEqual({
      route: 'summarize',
      tenant: null,
      policy: { ...CHAT_DEFAULTS, maxInputTokens: 8_192, cacheMode: 'aggressive' },
      effective: { ...CHAT_DEFAULTS, maxInputTokens: 8_192, cacheMode: 'aggressive' },
      revision: 2,
      previous: { maxInputTokens: 65_536, cacheMode: 'standard' },
    });
    expect(store.get({ route: 'summarize' })).toMatchObject({ revision: 2, effective: { maxInputTokens: 8_192 } });
  });

  test('previous values undo the change', () => {
    const store = new PolicyStore();
    const before = store.get({ route: 'chat' }).effective;
    const { change } = store.patch(
      { route: 'chat' },
      { modelTier: 'distilled', fallbackModel: 'premium', rateLimitRps: 20 },
    );
    expect(change.previous).toEqual({ modelTier: 'premium', fallbackModel: null, rateLimitRps: null });
    store.patch({ route: 'chat' }, change.previous as RoutePolicyPatch);
    expect(store.get({ route: 'chat' }).effective).toEqual(before);
  });

  test('null on a nullable field clears it for the route', () => {
    const store = new PolicyStore();
    const { change } = store.patch({ route: 'chat' }, { maxInputTokens: null });
    expect(change.effective.maxInputTokens).toBeNull();
    expect(change.previous).toEqual({ maxInputTokens: 32_768 });
  });

  test('a route change shows through to tenants without their own value', () => {
    const store = new PolicyStore();
    store.patch({ route: 'chat', tenant: 'acme' }, { cacheMode: 'off' });
    store.patch({ route: 'chat' }, { cacheMode: 'aggressive', priority: 7 });
    expect(store.get({ route: 'chat', tenant: 'acme' }).effective).toMatchObject({ cacheMode: 'off', priority: 7 });
    expect(store.get({ route: 'chat', tenant: 'globex' }).effective).toMatchObject({
      cacheMode: 'aggressive',
      priority: 7,
    });
  });
});

describe('patching a tenant', () => {
  test('an override layers over the route; previous null means "was not set"', () => {
    const store = new PolicyStore();
    const { change } = store.patch({ route: 'chat', tenant: 'acme' }, { maxInputTokens: 8_192, rateLimitRps: 20 });
    expect(change).toEqual({
      route: 'chat',
      tenant: 'acme',
      policy: { maxInputTokens: 8_192, rateLimitRps: 20 },
      effective: { ...CHAT_DEFAULTS, maxInputTokens: 8_192, rateLimitRps: 20 },
      revision: 1,
      previous: { maxInputTokens: null, rateLimitRps: null },
    });
    expect(store.get({ route: 'chat' }).effective).toEqual(CHAT_DEFAULTS);
    expect(store.get({ route: 'chat', tenant: 'globex' }).policy).toEqual({});
    expect(store.routes()).not.toContain('chat\u0000acme');
  });

  test('previous values of a second patch are the earlier override', () => {
    const store = new PolicyStore();
    store.patch({ route: 'chat', tenant: 'acme' }, { maxInputTokens: 8_192 });
    expect(store.patch({ route: 'chat', tenant: 'acme' }, { maxInputTokens: 4_096 }).change.previous).toEqual({
      maxInputTokens: 8_192,
    });
  });

  test('null removes the override, so the route value shows again', () => {
    const store = new PolicyStore();
    store.patch({ route: 'chat', tenant: 'acme' }, { maxInputTokens: 8_192, cacheMode: 'aggressive' });
    const { change } = store.patch({ route: 'chat', tenant: 'acme' }, { maxInputTokens: null });
    expect(change.previous).toEqual({ maxInputTokens: 8_192 });
    expect(change.policy).toEqual({ cacheMode: 'aggressive' });
    expect(change.effective.maxInputTokens).toBe(32_768);
    expect(change.revision).toBe(2);
  });

  test('applying the previous values undoes a tenant change completely', () => {
    const store = new PolicyStore();
    const { change } = store.patch(
      { route: 'chat', tenant: 'acme' },
      { modelTier: 'distilled', promptCompression: true },
    );
    store.patch({ route: 'chat', tenant: 'acme' }, change.previous as RoutePolicyPatch);
    expect(store.get({ route: 'chat', tenant: 'acme' })).toMatchObject({ policy: {}, effective: CHAT_DEFAULTS });
  });

  test('tenants are independent of each other', () => {
    const store = new PolicyStore();
    store.patch({ route: 'chat', tenant: 'acme' }, { priority: 1 });
    store.patch({ route: 'chat', tenant: 'globex' }, { priority: 9 });
    expect(store.get({ route: 'chat', tenant: 'acme' }).effective.priority).toBe(1);
    expect(store.get({ route: 'chat', tenant: 'globex' }).effective.priority).toBe(9);
  });

  test('a tenant on an unknown route is a 404 and nothing is recorded', () => {
    const store = new PolicyStore();
    expect(errorOf(() => store.patch({ route: 'nope', tenant: 'acme' }, { priority: 1 }))).toMatchObject({
      status: 404,
      code: 'route_not_found',
    });
    expect(errorOf(() => store.patch({ route: 'nope' }, { priority: 1 }))).toMatchObject({
      status: 404,
      code: 'route_not_found',
    });
    expect(store.changes).toEqual([]);
  });
});

describe('invalid resulting policies', () => {
  test.each<[string, { route: string; tenant?: string }, Record<string, unknown>]>([
    ['null for a required route field', { route: 'chat' }, { cacheMode: null }],
    ['a priority above 10', { route: 'chat' }, { priority: 11 }],
    ['a negative token cap', { route: 'chat', tenant: 'acme' }, { maxInputTokens: -1 }],
    ['an unknown cache mode', { route: 'chat', tenant: 'acme' }, { cacheMode: 'sometimes' }],
    ['a zero rate limit', { route: 'chat' }, { rateLimitRps: 0 }],
    ['a half circuit', { route: 'chat' }, { circuit: { state: 'open' } }],
    ['an unknown field', { route: 'chat' }, { maxTokens: 5 }],
  ])('%s is a 422 and changes nothing', (_case, scope, patch) => {
    const store = new PolicyStore();
    const before = store.get(scope);
    const error = errorOf(() => store.patch(scope, patch));
    expect(error).toMatchObject({ status: 422, code: 'invalid_policy' });
    expect(error.message.length).toBeGreaterThan(0);
    expect(store.get(scope)).toEqual(before);
    expect(store.changes).toEqual([]);
  });

  test('the 422 message names the field', () => {
    const error = errorOf(() => new PolicyStore().patch({ route: 'chat' }, { priority: 11 }));
    expect(error.message).toMatch(/^priority: /);
  });
});

describe('tenant quotas', () => {
  test('seeded tenants have valid quotas at revision 1; the internal tenant is unlimited', () => {
    const store = new PolicyStore();
    expect(store.tenants()).toEqual(['acme', 'globex', 'initech', 'umbrella', 'internal']);
    for (const tenant of store.tenants()) {
      const document = store.getQuota(tenant);
      expect(document.revision).toBe(1);
      expect(tenantQuotaSchema.safeParse(document.quota).success).toBe(true);
    }
    expect(store.getQuota('acme')).toEqual({
      tenant: 'acme',
      quota: { tokensPerDay: 16_000_000_000, requestsPerSecond: 120, costPerDayUsd: 85_000 },
      revision: 1,
    });
    expect(store.getQuota('internal').quota).toEqual(UNLIMITED);
  });

  test('a tenant without a quota is unlimited at revision 0, and is listed once one is set', () => {
    const store = new PolicyStore();
    expect(store.getQuota('hooli')).toEqual({ tenant: 'hooli', quota: UNLIMITED, revision: 0 });
    expect(store.patchQuota('hooli', { costPerDayUsd: 100 }, { ifMatch: 0 }).change).toEqual({
      tenant: 'hooli',
      quota: { ...UNLIMITED, costPerDayUsd: 100 },
      revision: 1,
      previous: { costPerDayUsd: null },
    });
    expect(store.tenants()).toContain('hooli');
  });

  test('a merge patch changes the named fields only and answers their previous values', () => {
    const store = new PolicyStore();
    const { change, replayed } = store.patchQuota('acme', { tokensPerDay: 10_000_000, costPerDayUsd: null });
    expect(replayed).toBe(false);
    expect(change).toEqual({
      tenant: 'acme',
      quota: { tokensPerDay: 10_000_000, requestsPerSecond: 120, costPerDayUsd: null },
      revision: 2,
      previous: { tokensPerDay: 16_000_000_000, costPerDayUsd: 85_000 },
    });
  });

  test('the previous values, patched back, restore the quota exactly', () => {
    const store = new PolicyStore();
    const before = store.getQuota('globex').quota;
    const { change } = store.patchQuota('globex', { requestsPerSecond: 0.5, tokensPerDay: null });
    store.patchQuota('globex', change.previous);
    expect(store.getQuota('globex')).toEqual({ tenant: 'globex', quota: before, revision: 3 });
  });

  test('tenants are independent, and quotas are apart from policies', () => {
    const store = new PolicyStore();
    store.patchQuota('acme', { requestsPerSecond: 10 });
    expect(store.getQuota('globex').quota).toEqual(SEED_TENANTS.globex);
    expect(store.get({ route: 'chat', tenant: 'acme' })).toMatchObject({ policy: {}, revision: 0 });
  });

  test.each([
    ['no field', {}, '(top level): the patch changes nothing: name at least one quota field'],
    ['a fractional token count', { tokensPerDay: 1.5 }, 'tokensPerDay: Invalid input: expected int, received number'],
    ['a zero rate', { requestsPerSecond: 0 }, 'requestsPerSecond: Too small: expected number to be >0'],
    ['an unknown field', { costPerDayUsd: 5, dollarsPerDay: 5 }, '(top level): Unrecognized key: "dollarsPerDay"'],
  ])('the patch schema refuses %s', (_case, patch, message) => {
    const parsed = tenantQuotaPatchSchema.safeParse(patch);
    expect(parsed.success).toBe(false);
    expect(
      parsed.error!.issues.map(
        (issue) => `${issue.path.length > 0 ? issue.path.join('.') : '(top level)'}: ${issue.message}`,
      ),
    ).toEqual([message]);
  });
});

describe('region weights', () => {
  test('every seeded route is served in its regions, with weights that are valid and sum to 1', () => {
    const store = new PolicyStore();
    for (const route of store.routes()) {
      const { weights, revision } = store.getRegionWeights(route);
      expect(revision).toBe(1);
      expect(weights).toEqual(SEED_ROUTES[route]!.regions);
      expect(regionWeightsSchema.safeParse(weights).success).toBe(true);
    }
  });

  test('a replacement sets the named regions, gives the served ones left out 0, and answers the previous weights', () => {
    const store = new PolicyStore();
    const { change, replayed } = store.putRegionWeights('fraud', { weights: { 'eu-west-1': 1 } });
    expect(replayed).toBe(false);
    expect(change).toEqual({
      route: 'fraud',
      weights: { 'us-east-1': 0, 'eu-west-1': 1 },
      revision: 2,
      previous: { weights: { 'us-east-1': 0.6, 'eu-west-1': 0.4 } },
    });
    expect(store.getRegionWeights('fraud')).toEqual({ route: 'fraud', weights: change.weights, revision: 2 });
  });

  test('the previous weights, put back, restore the split exactly', () => {
    const store = new PolicyStore();
    const before = store.getRegionWeights('embeddings').weights;
    const { change } = store.putRegionWeights('embeddings', { weights: { 'us-east-1': 1 } });
    store.putRegionWeights('embeddings', change.previous);
    expect(store.getRegionWeights('embeddings')).toEqual({ route: 'embeddings', weights: before, revision: 3 });
  });

  test('a region the route is not served in is a 422 that lists its regions, and changes nothing', () => {
    const store = new PolicyStore();
    const error = errorOf(() =>
      store.putRegionWeights('chat', { weights: { 'us-east-1': 0.5, 'ap-south-1': 0.5 } }, { idempotencyKey: 'k' }),
    );
    expect(error).toMatchObject({ status: 422, code: 'invalid_weights' });
    expect(error.message).toBe('route chat is not served in ap-south-1; its regions are us-east-1, eu-west-1');
    expect(store.getRegionWeights('chat').revision).toBe(1);
    expect(store.changes).toEqual([]);
    // The refused request did not use up its key.
    expect(store.putRegionWeights('chat', { weights: { 'us-east-1': 1 } }, { idempotencyKey: 'k' }).replayed).toBe(
      false,
    );
  });

  test('a region named like an Object.prototype member is just an unserved region', () => {
    const error = errorOf(() => new PolicyStore().putRegionWeights('chat', { weights: { constructor: 1 } }));
    expect(error.message).toBe('route chat is not served in constructor; its regions are us-east-1, eu-west-1');
  });

  test('an unknown route is a 404 for reading and writing', () => {
    const store = new PolicyStore();
    expect(errorOf(() => store.getRegionWeights('nope'))).toMatchObject({ status: 404, code: 'route_not_found' });
    expect(errorOf(() => store.putRegionWeights('nope', { weights: { 'us-east-1': 1 } }))).toMatchObject({
      status: 404,
      code: 'route_not_found',
    });
  });

  test.each([
    ['no region', {}, 'name at least one region, e.g. {"us-east-1": 1}'],
    [
      'only zeros',
      { 'us-east-1': 0, 'eu-west-1': 0 },
      'every weight is 0, so the route would serve no traffic: give at least one region a weight above 0',
    ],
    [
      'a sum below 1',
      { 'us-east-1': 0.5, 'eu-west-1': 0.4 },
      'the weights sum to 0.9, not 1: give each region its share of the traffic so the shares add up to 1',
    ],
    ['a negative weight', { 'us-east-1': 1.2, 'eu-west-1': -0.2 }, 'Too small: expected number to be >=0'],
  ])('the schema refuses %s', (_case, weights, message) => {
    const parsed = regionWeightsSchema.safeParse(weights);
    expect(parsed.success).toBe(false);
    expect(parsed.error!.issues.map((issue) => issue.message)).toContain(message);
  });

  test('the schema forgives rounded decimals but not a real shortfall', () => {
    expect(regionWeightsSchema.safeParse({ a: 0.333333, b: 0.333333, c: 0.333334 }).success).toBe(true);
    expect(regionWeightsSchema.safeParse({ a: 0.1, b: 0.2, c: 0.7 }).success).toBe(true);
    expect(regionWeightsSchema.safeParse({ a: 0.33, b: 0.33, c: 0.33 }).success).toBe(false);
  });
});

describe('idempotency keys, on every resource', () => {
  test('a replay answers the first result, changes nothing and records one change only', () => {
    const store = new PolicyStore();
    const first = store.patch(
      { route: 'chat', tenant: 'acme' },
      { maxInputTokens: 8_192 },
      { idempotencyKey: 'wf/run/cap/apply' },
    );
    // Something else changes the same scope in between: the replay still answers the first result.
    store.patch({ route: 'chat', tenant: 'acme' }, { maxInputTokens: 4_096 });
    const again = store.patch(
      { route: 'chat', tenant: 'acme' },
      { maxInputTokens: 8_192 },
      { idempotencyKey: 'wf/run/cap/apply' },
    );
    expect(first.replayed).toBe(false);
    expect(again.replayed).toBe(true);
    expect(again.change).toEqual(first.change);
    expect(again.change.previous).toEqual({ maxInputTokens: null });
    expect(store.get({ route: 'chat', tenant: 'acme' }).effective.maxInputTokens).toBe(4_096);
    expect(store.changes.filter((c) => c.idempotencyKey === 'wf/run/cap/apply')).toHaveLength(1);
    expect(store.changes).toHaveLength(2);
  });

  test('many replays still record one change', () => {
    const store = new PolicyStore();
    for (let i = 0; i < 5; i++) store.patch({ route: 'chat' }, { priority: 3 }, { idempotencyKey: 'k' });
    expect(store.changes).toHaveLength(1);
    expect(store.get({ route: 'chat' }).revision).toBe(2);
  });

  test('a replay is a copy: changing an answer does not change later replays', () => {
    const store = new PolicyStore();
    store.patch({ route: 'chat' }, { priority: 3 }, { idempotencyKey: 'k' });
    const replay = store.patch({ route: 'chat' }, { priority: 3 }, { idempotencyKey: 'k' });
    replay.change.previous.priority = 'tampered';
    replay.change.effective.priority = 0;
    expect(store.patch({ route: 'chat' }, { priority: 3 }, { idempotencyKey: 'k' }).change).toMatchObject({
      previous: { priority: 5 },
      effective: { priority: 3 },
    });
  });

  test('a replay answers the first result of any resource and records one change', () => {
    const store = new PolicyStore();
    const quota = store.patchQuota('acme', { costPerDayUsd: 500 }, { idempotencyKey: 'q' });
    const regions = store.putRegionWeights('chat', { weights: { 'eu-west-1': 1 } }, { idempotencyKey: 'r' });
    // Changed again in between: the replays still answer the first results.
    store.patchQuota('acme', { costPerDayUsd: 900 });
    store.putRegionWeights('chat', { weights: { 'us-east-1': 1 } });
    expect(store.patchQuota('acme', { costPerDayUsd: 500 }, { idempotencyKey: 'q' })).toEqual({
      change: quota.change,
      replayed: true,
    });
    expect(store.putRegionWeights('chat', { weights: { 'eu-west-1': 1 } }, { idempotencyKey: 'r' })).toEqual({
      change: regions.change,
      replayed: true,
    });
    expect(store.changes.map((change) => change.idempotencyKey)).toEqual(['q', 'r', null, null]);
    expect(store.getQuota('acme').quota.costPerDayUsd).toBe(900);
  });

  test('a replay is a copy', () => {
    const store = new PolicyStore();
    store.putRegionWeights('chat', { weights: { 'eu-west-1': 1 } }, { idempotencyKey: 'r' });
    const replay = store.putRegionWeights('chat', { weights: { 'eu-west-1': 1 } }, { idempotencyKey: 'r' });
    replay.change.previous.weights['us-east-1'] = 0;
    expect(
      store.putRegionWeights('chat', { weights: { 'eu-west-1': 1 } }, { idempotencyKey: 'r' }).change.previous.weights[
        'us-east-1'
      ],
    ).toBe(0.6);
  });

  test('a replay with a stale ifMatch still answers the first result', () => {
    const store = new PolicyStore();
    const first = store.patch({ route: 'chat' }, { priority: 3 }, { idempotencyKey: 'k', ifMatch: 1 });
    expect(store.patch({ route: 'chat' }, { priority: 3 }, { idempotencyKey: 'k', ifMatch: 1 })).toEqual({
      change: first.change,
      replayed: true,
    });
  });

  test.each<[string, { route: string; tenant?: string }, RoutePolicyPatch]>([
    ['a different body', { route: 'chat' }, { priority: 4 }],
    ['a different field', { route: 'chat' }, { cacheMode: 'off' }],
    ['a different tenant', { route: 'chat', tenant: 'acme' }, { priority: 3 }],
    ['a different route', { route: 'summarize' }, { priority: 3 }],
  ])('a key reused with %s is a 422 and changes nothing', (_case, scope, patch) => {
    const store = new PolicyStore();
    store.patch({ route: 'chat' }, { priority: 3 }, { idempotencyKey: 'k' });
    const error = errorOf(() => store.patch(scope, patch, { idempotencyKey: 'k' }));
    expect(error).toMatchObject({ status: 422, code: 'idempotency_key_reused' });
    expect(error.message).toBe('Idempotency-Key k was already used for a different request; use a new key');
    expect(store.changes).toHaveLength(1);
    expect(store.get({ route: 'chat' }).effective.priority).toBe(3);
  });

  test.each<[string, (store: PolicyStore) => unknown]>([
    ['a route policy', (store) => store.patch({ route: 'chat' }, { priority: 3 }, { idempotencyKey: 'k' })],
    ['another tenant', (store) => store.patchQuota('globex', { costPerDayUsd: 500 }, { idempotencyKey: 'k' })],
    [
      'region weights',
      (store) => store.putRegionWeights('chat', { weights: { 'us-east-1': 1 } }, { idempotencyKey: 'k' }),
    ],
  ])('a quota key reused for %s is a 422 and changes nothing', (_case, reuse) => {
    const store = new PolicyStore();
    store.patchQuota('acme', { costPerDayUsd: 500 }, { idempotencyKey: 'k' });
    expect(errorOf(() => reuse(store))).toMatchObject({ status: 422, code: 'idempotency_key_reused' });
    expect(store.changes).toHaveLength(1);
  });

  test('without a key, the same patch twice applies twice', () => {
    const store = new PolicyStore();
    store.patch({ route: 'chat' }, { priority: 3 });
    const second = store.patch({ route: 'chat' }, { priority: 3 });
    expect(second.replayed).toBe(false);
    expect(second.change.previous).toEqual({ priority: 3 });
    expect(store.changes).toHaveLength(2);
  });

  test('a request refused as invalid does not use up its key', () => {
    const store = new PolicyStore();
    expect(errorOf(() => store.patch({ route: 'chat' }, { priority: 11 }, { idempotencyKey: 'k' }))).toMatchObject({
      status: 422,
      code: 'invalid_policy',
    });
    expect(store.patch({ route: 'chat' }, { priority: 10 }, { idempotencyKey: 'k' }).replayed).toBe(false);
  });
});

describe('If-Match revisions, on every resource', () => {
  test('the current revision is accepted; a stale one is a 412 that says the current revision', () => {
    const store = new PolicyStore();
    const { revision } = store.get({ route: 'chat' });
    expect(store.patch({ route: 'chat' }, { priority: 7 }, { ifMatch: revision }).change.revision).toBe(revision + 1);
    const error = errorOf(() => store.patch({ route: 'chat' }, { priority: 3 }, { ifMatch: revision }));
    expect(error).toMatchObject({ status: 412, code: 'revision_mismatch' });
    expect(error.message).toBe(
      'If-Match names revision 1 of the policy of route chat, but the current revision is 2: read it again and retry',
    );
    expect(store.get({ route: 'chat' }).effective.priority).toBe(7);
    expect(store.changes).toHaveLength(1);
  });

  test('a tenant with no override yet is at revision 0', () => {
    const store = new PolicyStore();
    expect(store.patch({ route: 'chat', tenant: 'acme' }, { priority: 1 }, { ifMatch: 0 }).change.revision).toBe(1);
    expect(
      errorOf(() => store.patch({ route: 'chat', tenant: 'globex' }, { priority: 1 }, { ifMatch: 1 })),
    ).toMatchObject({ status: 412 });
  });

  test('route and tenant revisions are separate', () => {
    const store = new PolicyStore();
    store.patch({ route: 'chat', tenant: 'acme' }, { priority: 1 });
    expect(store.get({ route: 'chat' }).revision).toBe(1);
    expect(store.patch({ route: 'chat' }, { priority: 2 }, { ifMatch: 1 }).change.revision).toBe(2);
  });

  test('region weights and the route policy have separate revisions', () => {
    const store = new PolicyStore();
    store.putRegionWeights('chat', { weights: { 'us-east-1': 1 } });
    expect(store.get({ route: 'chat' }).revision).toBe(1);
    expect(store.patch({ route: 'chat' }, { priority: 6 }, { ifMatch: 1 }).change.revision).toBe(2);
  });

  test.each<[string, (store: PolicyStore, ifMatch: number) => unknown, string]>([
    [
      'a quota',
      (store, ifMatch) => store.patchQuota('acme', { costPerDayUsd: 500 }, { ifMatch }),
      'the quota of tenant acme',
    ],
    [
      'region weights',
      (store, ifMatch) => store.putRegionWeights('chat', { weights: { 'us-east-1': 1 } }, { ifMatch }),
      'the region weights of route chat',
    ],
    [
      'a tenant policy',
      (store, ifMatch) => store.patch({ route: 'chat', tenant: 'acme' }, { priority: 1 }, { ifMatch: ifMatch - 1 }),
      'the policy of tenant acme on route chat',
    ],
  ])(
    'If-Match on %s: the current revision applies, a stale one is a 412 naming the resource',
    (_case, write, label) => {
      const store = new PolicyStore();
      write(store, 1);
      const error = errorOf(() => write(store, 1));
      expect(error).toMatchObject({ status: 412, code: 'revision_mismatch' });
      expect(error.message).toMatch(
        new RegExp(
          `^If-Match names revision \\d of ${label}, but the current revision is \\d: read it again and retry$`,
        ),
      );
      expect(store.changes).toHaveLength(1);
    },
  );
});

describe('the change log', () => {
  test('every applied change is logged with its scope, patch, previous values and revision', () => {
    const store = new PolicyStore();
    store.patch({ route: 'chat' }, { priority: 7 }, { idempotencyKey: 'k1' });
    store.patch({ route: 'chat', tenant: 'acme' }, { cacheMode: 'off' });
    expect(store.changes).toEqual([
      {
        at: expect.any(String) as string,
        resource: 'policy',
        route: 'chat',
        tenant: null,
        patch: { priority: 7 },
        previous: { priority: 5 },
        idempotencyKey: 'k1',
        revision: 2,
      },
      {
        at: expect.any(String) as string,
        resource: 'policy',
        route: 'chat',
        tenant: 'acme',
        patch: { cacheMode: 'off' },
        previous: { cacheMode: null },
        idempotencyKey: null,
        revision: 1,
      },
    ]);
    expect(Number.isNaN(Date.parse(store.changes[0]!.at))).toBe(false);
  });

  test('every applied quota change is logged', () => {
    const store = new PolicyStore();
    store.patchQuota('initech', { costPerDayUsd: 100 }, { idempotencyKey: 'q1' });
    expect(store.changes).toEqual([
      {
        at: expect.any(String) as string,
        resource: 'quota',
        route: null,
        tenant: 'initech',
        patch: { costPerDayUsd: 100 },
        previous: { costPerDayUsd: 65_000 },
        idempotencyKey: 'q1',
        revision: 2,
      },
    ]);
  });

  test('every applied replacement is logged with the body and the previous weights', () => {
    const store = new PolicyStore();
    store.putRegionWeights('chat', { weights: { 'eu-west-1': 1 } });
    expect(store.changes).toEqual([
      {
        at: expect.any(String) as string,
        resource: 'regions',
        route: 'chat',
        tenant: null,
        patch: { weights: { 'eu-west-1': 1 } },
        previous: { weights: { 'us-east-1': 0.6, 'eu-west-1': 0.4 } },
        idempotencyKey: null,
        revision: 2,
      },
    ]);
  });

  test('the log keeps copies: changing what a write answered or was given changes no entry', () => {
    const store = new PolicyStore();
    const patch = { costPerDayUsd: 500 };
    const { change } = store.patchQuota('acme', patch);
    patch.costPerDayUsd = 1;
    change.previous.costPerDayUsd = 1;
    expect(store.changes[0]).toMatchObject({ patch: { costPerDayUsd: 500 }, previous: { costPerDayUsd: 85_000 } });
  });
});

describe('the read-only view for the simulated platform', () => {
  const view: PolicyView = new PolicyStore();

  test('effectivePolicy: the route policy with the tenant overrides', () => {
    const store = new PolicyStore();
    store.patch({ route: 'chat', tenant: 'acme' }, { cacheMode: 'aggressive' });
    expect(store.effectivePolicy('chat', 'acme')).toMatchObject({ cacheMode: 'aggressive', maxInputTokens: 32_768 });
    expect(store.effectivePolicy('chat')).toMatchObject({ cacheMode: 'standard' });
    expect(store.effectivePolicy('chat', 'globex')).toEqual(store.effectivePolicy('chat'));
    expect(errorOf(() => store.effectivePolicy('nope'))).toMatchObject({ status: 404 });
  });

  test('tenantQuota: the quota, unlimited for a tenant without one', () => {
    expect(view.tenantQuota('umbrella')).toEqual(SEED_TENANTS.umbrella);
    expect(view.tenantQuota('hooli')).toEqual(UNLIMITED);
  });

  test('regionWeights: every served region, scaled to sum to exactly 1', () => {
    const store = new PolicyStore();
    store.putRegionWeights('embeddings', { weights: { 'eu-west-1': 0.3333335, 'us-east-1': 0.666667 } });
    const weights = store.regionWeights('embeddings');
    expect(Object.keys(weights)).toEqual(['us-east-1', 'eu-west-1']);
    expect(Object.values(weights).reduce((sum, weight) => sum + weight, 0)).toBeCloseTo(1, 12);
    expect(weights['us-east-1']).toBeCloseTo(0.666667 / 1.0000005, 12);
    expect(view.regionWeights('chat')).toEqual({ 'us-east-1': 0.6, 'eu-west-1': 0.4 });
  });

  test('answers are copies', () => {
    const store = new PolicyStore();
    store.effectivePolicy('chat').circuit.state = 'open';
    store.tenantQuota('acme').costPerDayUsd = 1;
    store.regionWeights('chat')['us-east-1'] = 0;
    expect(store.effectivePolicy('chat').circuit.state).toBe('closed');
    expect(store.tenantQuota('acme').costPerDayUsd).toBe(85_000);
    expect(store.regionWeights('chat')['us-east-1']).toBe(0.6);
  });
});
