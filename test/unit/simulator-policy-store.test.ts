// Route policies and tenant overrides in the simulator's store (quotas and region weights: policy-store.test.ts).
import type { RoutePolicy, RoutePolicyPatch } from '../../gateway/control-api';
import { routePolicySchema } from '../../gateway/control-api';
import { PolicyStore, PolicyStoreError, SEED_ROUTES } from '../../simulator/policy-store';

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

describe('reading policies', () => {
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

describe('idempotency keys', () => {
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

describe('If-Match revisions', () => {
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
