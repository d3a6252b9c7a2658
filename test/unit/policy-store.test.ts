// Tenant quotas, region weights, the write path all resources share, and the read-only view the
// simulated platform uses (route policies: simulator-policy-store.test.ts).
import { regionWeightsSchema, tenantQuotaPatchSchema, tenantQuotaSchema } from '../../gateway/control-api';
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

const UNLIMITED = { tokensPerDay: null, requestsPerSecond: null, costPerDayUsd: null };

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

  test('region weights and the route policy have separate revisions', () => {
    const store = new PolicyStore();
    store.putRegionWeights('chat', { weights: { 'us-east-1': 1 } });
    expect(store.get({ route: 'chat' }).revision).toBe(1);
    expect(store.patch({ route: 'chat' }, { priority: 6 }, { ifMatch: 1 }).change.revision).toBe(2);
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

describe('one write path for every resource', () => {
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

  test('the log keeps copies: changing what a write answered or was given changes no entry', () => {
    const store = new PolicyStore();
    const patch = { costPerDayUsd: 500 };
    const { change } = store.patchQuota('acme', patch);
    patch.costPerDayUsd = 1;
    change.previous.costPerDayUsd = 1;
    expect(store.changes[0]).toMatchObject({ patch: { costPerDayUsd: 500 }, previous: { costPerDayUsd: 85_000 } });
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
