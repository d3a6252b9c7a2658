// The Kong gateway adapter (gateway/kong/) through its real HTTP client against a local server that speaks Kong's Admin
// API as its source defines it (test/helpers/kong-admin-server.ts): the exact requests of each change, the undo the
// engine sends putting the plugins back as they were, a retry with the same key writing nothing, someone else's write
// between the adapter's read and its write, a create race, 5xx faults, and the knobs Kong lacks.
import { lackedKnobs } from '../../gateway/gateway-knobs';
import type { KongPlugin } from '../../gateway/kong/kong-admin-client';
import { KongGateway } from '../../gateway/kong/kong-gateway';
import { KONG_ADMIN_TOKEN, KongAdminServer, type KongSeed } from '../helpers/kong-admin-server';
import { gatewayFailure as failure } from '../helpers/gateway-failure';

let kong: KongAdminServer;
let gateway: KongGateway;

const TARGET = (region: string, weight: number) => ({
  model: { name: 'gpt-4o', provider: 'azure', options: { azure_instance: `ai-${region}` } },
  auth: { header_name: 'api-key', header_value: `secret-${region}` },
  route_type: 'llm/v1/chat',
  description: region,
  weight,
});

const SEED: KongSeed = {
  routes: ['chat', 'summarize'],
  consumers: ['acme', 'globex'],
  plugins: [
    { name: 'ai-proxy-advanced', route: 'chat', config: { targets: [TARGET('us-east-1', 3), TARGET('eu-west-1', 1)] } },
    { name: 'ai-semantic-cache', route: 'chat', enabled: false, config: { vectordb: { strategy: 'redis' } } },
    { name: 'rate-limiting', route: 'chat', consumer: 'globex', config: { minute: 600 }, tags: ['owner:platform'] },
    {
      name: 'ai-rate-limiting-advanced',
      consumer: 'acme',
      config: { llm_providers: [{ name: 'azure', limit: [5_000, 2_000_000], window_size: [60, 86_400] }] },
    },
  ],
};

beforeAll(async () => {
  kong = await KongAdminServer.start();
  gateway = new KongGateway({ baseUrl: kong.url, adminToken: KONG_ADMIN_TOKEN, timeoutMs: 2_000 });
});
afterAll(() => kong?.close());
beforeEach(() => kong.seed(structuredClone(SEED)));

/** Method and path of each request since the last call; the writes with their bodies. */
const traffic = () => {
  const requests = kong.requests.splice(0);
  return {
    calls: requests.map(({ method, url }) => `${method} ${url}`),
    writes: requests.filter(({ method }) => method !== 'GET'),
  };
};

/** The plugins as an operator sees them: every field but the engine's records and the update time. */
const view = () =>
  kong.plugins.map(({ updated_at: _updated, tags, ...plugin }: KongPlugin) => ({
    ...plugin,
    tags: (tags ?? []).filter((tag) => !tag.startsWith('finops-soar')),
  }));

const ids = () => ({ chat: kong.routes[0]!.id, acme: kong.consumers[0]!.id, globex: kong.consumers[1]!.id });

describe("a route's request rate and circuit: plugins the engine makes and takes away", () => {
  test('a whole route limited by a rate-limiting plugin it creates; the exact requests; the undo deletes it', async () => {
    const before = view();
    const change = await gateway.patchRoutePolicy(
      { route: 'chat' },
      { rateLimitRps: 20 },
      { idempotencyKey: 'run-1/throttle/apply' },
    );
    expect(change.previous).toEqual({ rateLimitRps: null });
    expect([change.policy.rateLimitRps, change.effective.rateLimitRps]).toEqual([20, 20]);
    const { chat } = ids();
    const { calls, writes } = traffic();
    expect(calls).toEqual([
      'GET /routes/chat',
      `GET /routes/${chat}/plugins`,
      `POST /routes/${chat}/plugins`,
      `GET /routes/${chat}/plugins`,
    ]);
    expect(writes[0]!.body).toEqual({
      name: 'rate-limiting',
      config: { second: 20, limit_by: 'service', policy: 'local' },
      tags: ['finops-soar:created', expect.stringMatching(/^finops-soar:[0-9a-f]{16}:[\w-]+$/) as unknown],
    });

    await gateway.patchRoutePolicy(
      { route: 'chat' },
      { rateLimitRps: null },
      { idempotencyKey: 'run-1/throttle/undo' },
    );
    expect(traffic().writes.map(({ method, url }) => `${method} ${url.replace(/[0-9a-f-]{36}/, '{id}')}`)).toEqual([
      'DELETE /plugins/{id}',
    ]);
    expect(view()).toEqual(before);
  });

  test("a tenant's rate on someone's plugin: config.second added beside their minute, and the undo clears only it", async () => {
    const before = view();
    const scope = { route: 'chat', tenant: 'globex' };
    const change = await gateway.patchRoutePolicy(scope, { rateLimitRps: 5 }, { idempotencyKey: 'r1' });
    expect(change.previous).toEqual({ rateLimitRps: null });
    const plugin = kong.pluginOf('rate-limiting', { route: 'chat', consumer: 'globex' })!;
    expect(plugin.config).toMatchObject({ second: 5, minute: 600 });
    expect(traffic().writes.map(({ method, body }) => [method, body])).toEqual([
      ['PATCH', { config: { second: 5 }, tags: ['owner:platform', expect.stringMatching(/^finops-soar:/) as unknown] }],
    ]);
    // The tenant's plugin is the one Kong runs for it, over anything on the route alone.
    expect((await gateway.getRoutePolicy(scope)).effective.rateLimitRps).toBe(5);
    await gateway.patchRoutePolicy(scope, { rateLimitRps: null }, { idempotencyKey: 'r1-undo' });
    expect(view()).toEqual(before);
  });

  test('a circuit opened for one tenant is a request-termination plugin on the route and consumer; closing deletes it', async () => {
    const before = view();
    const scope = { route: 'chat', tenant: 'acme' };
    const change = await gateway.patchRoutePolicy(
      scope,
      { circuit: { state: 'open', failMode: 'closed' } },
      { idempotencyKey: 'c1' },
    );
    expect(change.previous).toEqual({ circuit: { state: 'closed', failMode: 'closed' } });
    expect(kong.pluginOf('request-termination', { route: 'chat', consumer: 'acme' })?.config).toMatchObject({
      status_code: 503,
    });
    expect(traffic().writes[0]!.body).toMatchObject({ name: 'request-termination', consumer: { id: ids().acme } });
    await gateway.patchRoutePolicy(scope, { circuit: change.previous.circuit as never }, { idempotencyKey: 'c1-undo' });
    expect(view()).toEqual(before);
  });

  test('a retry with the same key answers what the first try did and writes nothing', async () => {
    const scope = { route: 'chat', tenant: 'acme' };
    const first = await gateway.patchRoutePolicy(
      scope,
      { circuit: { state: 'open', failMode: 'open' } },
      { idempotencyKey: 'k1' },
    );
    traffic();
    const again = await gateway.patchRoutePolicy(
      scope,
      { circuit: { state: 'open', failMode: 'open' } },
      { idempotencyKey: 'k1' },
    );
    expect(again.previous).toEqual(first.previous);
    expect(traffic().writes).toEqual([]);
  });

  test('a create whose answer was lost is retried with the same key: it finds its record, makes nothing twice', async () => {
    kong.faultOn(({ method }) => method === 'POST', 502, { lose: true });
    const error = await failure(
      gateway.patchRoutePolicy({ route: 'chat' }, { rateLimitRps: 10 }, { idempotencyKey: 'lost' }),
    );
    expect([error.status, error.retryable]).toEqual([502, true]);
    traffic();
    const retried = await gateway.patchRoutePolicy({ route: 'chat' }, { rateLimitRps: 10 }, { idempotencyKey: 'lost' });
    expect(retried.previous).toEqual({ rateLimitRps: null });
    expect(traffic().writes).toEqual([]);
    expect(kong.plugins.filter(({ name }) => name === 'rate-limiting')).toHaveLength(2); // globex's and the engine's
  });

  test('someone making the same plugin first is a 409 (retryable); the retry reads theirs and changes it', async () => {
    // Someone creates the route's rate-limiting plugin between the engine's read and its POST.
    kong.beforeNextCreate = () => kong.addPlugin({ name: 'rate-limiting', route: 'chat', config: { minute: 100 } });
    const error = await failure(
      gateway.patchRoutePolicy({ route: 'chat' }, { rateLimitRps: 1 }, { idempotencyKey: 'race' }),
    );
    expect([error.status, error.retryable]).toEqual([409, true]);
    expect(error.message).toContain('unique constraint violation');
    const retried = await gateway.patchRoutePolicy({ route: 'chat' }, { rateLimitRps: 1 }, { idempotencyKey: 'race' });
    expect(retried.previous).toEqual({ rateLimitRps: null });
    expect(kong.pluginOf('rate-limiting', { route: 'chat' })?.config).toMatchObject({ second: 1, minute: 100 });
  });

  test("someone else's write between the read and the write fails the try (retryable), and the retry keeps both", async () => {
    kong.afterNextPluginRead = () => {
      kong.pluginOf('rate-limiting', { route: 'chat', consumer: 'globex' })!.config.hour = 30_000;
    };
    const scope = { route: 'chat', tenant: 'globex' };
    const error = await failure(gateway.patchRoutePolicy(scope, { rateLimitRps: 5 }, { idempotencyKey: 'k4' }));
    expect([error.retryable, error.status]).toEqual([true, 409]);
    expect(error.message).toMatch(
      /^Kong plugin rate-limiting .* \(route chat, consumer globex\) changed while the engine/,
    );
    expect(traffic().writes).toEqual([]);
    await gateway.patchRoutePolicy(scope, { rateLimitRps: 5 }, { idempotencyKey: 'k4' });
    expect(kong.pluginOf('rate-limiting', { route: 'chat', consumer: 'globex' })?.config).toMatchObject({
      second: 5,
      minute: 600,
      hour: 30_000,
    });
  });

  test('a 5xx before the write is retryable and leaves everything as it was', async () => {
    const before = view();
    kong.faultOn(({ method }) => method === 'PATCH', 503, { lose: false });
    const error = await failure(
      gateway.patchRoutePolicy({ route: 'chat', tenant: 'globex' }, { rateLimitRps: 5 }, { idempotencyKey: 'k5' }),
    );
    expect([error.status, error.retryable]).toEqual([503, true]);
    expect(view()).toEqual(before);
  });
});

describe('the undo of a plugin the engine made', () => {
  const limitChat = (key: string) =>
    gateway.patchRoutePolicy({ route: 'chat' }, { rateLimitRps: 20 }, { idempotencyKey: key });
  const unlimitChat = (key: string) =>
    gateway.patchRoutePolicy({ route: 'chat' }, { rateLimitRps: null }, { idempotencyKey: key });
  const writes = () =>
    traffic().writes.map(({ method, url, body }) => [method, url.replace(/[0-9a-f-]{36}/, '{id}'), body]);

  test("someone limits with the engine's rate-limiting plugin too: the undo clears only its config.second, and the plugin is theirs", async () => {
    const before = view();
    await limitChat('own-1');
    const made = kong.pluginOf('rate-limiting', { route: 'chat' })!;
    made.config.minute = 100;
    made.tags = [...made.tags!, 'owner:sre'];
    traffic();
    const undo = await unlimitChat('own-1-undo');
    expect(undo.previous).toEqual({ rateLimitRps: 20 });
    expect(writes()).toEqual([
      [
        'PATCH',
        '/plugins/{id}',
        {
          config: { second: null },
          // finops-soar:created is gone: no later undo deletes their plugin.
          tags: [
            expect.stringMatching(/^finops-soar:[0-9a-f]{16}:/) as unknown,
            'owner:sre',
            expect.stringMatching(/^finops-soar:[0-9a-f]{16}:/) as unknown,
          ],
        },
      ],
    ]);
    const theirs = kong.pluginOf('rate-limiting', { route: 'chat' })!;
    expect(theirs.config).toMatchObject({ second: null, minute: 100, limit_by: 'service', policy: 'local' });
    expect(view()).toEqual([
      ...before,
      expect.objectContaining({ name: 'rate-limiting', tags: ['owner:sre'] }) as unknown,
    ]);
    // Another run's undo of a limit of the route finds nothing of the engine's there, and writes nothing.
    await unlimitChat('own-1-undo-again');
    expect(traffic().writes).toEqual([]);
  });

  test("someone changed how the engine's plugin counts, but set no limit of their own: the undo refuses, saying why, and writes nothing", async () => {
    await limitChat('own-2');
    kong.pluginOf('rate-limiting', { route: 'chat' })!.config.limit_by = 'ip';
    traffic();
    const error = await failure(unlimitChat('own-2-undo'));
    expect(error.retryable).toBe(false);
    expect(error.message).toMatch(
      /^route chat: the rate-limiting plugin the engine made \([0-9a-f-]{36}\) was changed since by someone else \(config\.limit_by "ip"\); the engine does not delete their work, and clearing its own config\.second would leave the plugin no limit, which Kong refuses: give the plugin a limit of its own \(e\.g\. config\.minute\), and the engine clears only config\.second, or delete it$/,
    );
    expect(traffic().writes).toEqual([]);
    expect(kong.pluginOf('rate-limiting', { route: 'chat' })!.config).toMatchObject({ second: 20, limit_by: 'ip' });
  });

  test("someone made the engine's circuit breaker theirs (their message): closing the circuit disables it and leaves it to them", async () => {
    const before = view();
    const scope = { route: 'chat', tenant: 'acme' };
    await gateway.patchRoutePolicy(scope, { circuit: { state: 'open', failMode: 'closed' } }, { idempotencyKey: 'cb' });
    kong.pluginOf('request-termination', { route: 'chat', consumer: 'acme' })!.config.message =
      'chat is down for maintenance';
    traffic();
    const undo = await gateway.patchRoutePolicy(
      scope,
      { circuit: { state: 'closed', failMode: 'closed' } },
      { idempotencyKey: 'cb-undo' },
    );
    expect(undo.previous).toEqual({ circuit: { state: 'open', failMode: 'closed' } });
    expect(undo.effective.circuit).toEqual({ state: 'closed', failMode: 'closed' });
    expect(writes()).toEqual([
      [
        'PATCH',
        '/plugins/{id}',
        {
          enabled: false,
          tags: [expect.stringMatching(/^finops-soar:/) as unknown, expect.stringMatching(/^finops-soar:/) as unknown],
        },
      ],
    ]);
    expect(view()).toEqual([
      ...before,
      expect.objectContaining({
        name: 'request-termination',
        enabled: false,
        config: expect.objectContaining({ status_code: 503, message: 'chat is down for maintenance' }) as unknown,
        tags: [],
      }) as unknown,
    ]);
  });

  test('a plugin the engine made that nobody else touched is deleted, whatever the engine itself set on it since', async () => {
    const before = view();
    await limitChat('own-3');
    await gateway.patchRoutePolicy({ route: 'chat' }, { rateLimitRps: 10 }, { idempotencyKey: 'own-3-level' });
    traffic();
    expect((await unlimitChat('own-3-undo')).previous).toEqual({ rateLimitRps: 10 });
    expect(writes().map(([method]) => method)).toEqual(['DELETE']);
    expect(view()).toEqual(before);
  });

  test('a plugin the engine made that someone only switched off is still the engine’s: the undo deletes it', async () => {
    const before = view();
    await limitChat('off-1');
    kong.pluginOf('rate-limiting', { route: 'chat' })!.enabled = false;
    const scope = { route: 'chat', tenant: 'acme' };
    await gateway.patchRoutePolicy(
      scope,
      { circuit: { state: 'open', failMode: 'closed' } },
      { idempotencyKey: 'off-2' },
    );
    kong.pluginOf('request-termination', { route: 'chat', consumer: 'acme' })!.enabled = false;
    traffic();
    // A switched-off limit and circuit read as none and closed: that is what the undos answer they replaced.
    expect((await unlimitChat('off-1-undo')).previous).toEqual({ rateLimitRps: null });
    const closed = await gateway.patchRoutePolicy(
      scope,
      { circuit: { state: 'closed', failMode: 'closed' } },
      { idempotencyKey: 'off-2-undo' },
    );
    expect(closed.previous).toEqual({ circuit: { state: 'closed', failMode: 'closed' } });
    expect(writes().map(([method]) => method)).toEqual(['DELETE', 'DELETE']);
    expect(view()).toEqual(before);
  });

  test('a retried undo whose DELETE was made but whose answer was lost answers what the first try did', async () => {
    const before = view();
    await limitChat('lost-undo');
    kong.faultOn(({ method }) => method === 'DELETE', 502, { lose: true });
    const error = await failure(unlimitChat('lost-undo-undo'));
    expect([error.status, error.retryable]).toEqual([502, true]);
    expect(view()).toEqual(before);
    traffic();
    const retried = await unlimitChat('lost-undo-undo');
    expect(retried.previous).toEqual({ rateLimitRps: 20 });
    expect(traffic().writes).toEqual([]);
    // The same for a tenant's request rate, the consumer's own plugin.
    await gateway.patchTenantQuota('acme', { requestsPerSecond: 3 }, { idempotencyKey: 'rps' });
    kong.faultOn(({ method }) => method === 'DELETE', 502, { lose: true });
    await failure(gateway.patchTenantQuota('acme', { requestsPerSecond: null }, { idempotencyKey: 'rps-undo' }));
    const quota = await gateway.patchTenantQuota('acme', { requestsPerSecond: null }, { idempotencyKey: 'rps-undo' });
    expect(quota.previous).toEqual({ requestsPerSecond: 3 });
    expect(view()).toEqual(before);
  });
});

describe('plugins that must exist: cache and prompt compression', () => {
  test("cacheMode switches the route's ai-semantic-cache on; the undo switches it off again", async () => {
    const before = view();
    const change = await gateway.patchRoutePolicy(
      { route: 'chat' },
      { cacheMode: 'aggressive' },
      { idempotencyKey: 'cache' },
    );
    expect(change.previous).toEqual({ cacheMode: 'off' });
    expect(change.effective.cacheMode).toBe('standard');
    expect(traffic().writes.map(({ body }) => body)).toEqual([
      { enabled: true, tags: [expect.stringMatching(/^finops-soar:/) as unknown] },
    ]);
    await gateway.patchRoutePolicy({ route: 'chat' }, { cacheMode: 'off' }, { idempotencyKey: 'cache-undo' });
    expect(view()).toEqual(before);
  });

  test('prompt compression without an ai-prompt-compressor plugin is refused, saying what to add; nothing is written', async () => {
    const error = await failure(
      gateway.patchRoutePolicy({ route: 'chat' }, { promptCompression: true }, { idempotencyKey: 'pc' }),
    );
    expect(error.retryable).toBe(false);
    expect(error.message).toBe(
      'route chat has no ai-prompt-compressor plugin; it needs configuration the engine cannot make up (its service URLs and credentials): add one there (disabled, if it should start off), and the engine switches it on and off',
    );
    expect(traffic().writes).toEqual([]);
  });

  test('a step of two fields, one of which Kong is not set up for, writes neither: nothing is left without its undo', async () => {
    const before = view();
    const error = await failure(
      gateway.patchRoutePolicy(
        { route: 'chat' },
        { cacheMode: 'aggressive', promptCompression: true },
        { idempotencyKey: 'both' },
      ),
    );
    expect([error.retryable, error.notSetUp]).toEqual([false, true]);
    expect(error.message).toMatch(/^route chat has no ai-prompt-compressor plugin/);
    expect(traffic().writes).toEqual([]);
    expect(view()).toEqual(before);
  });
});

describe("someone's request-termination plugin", () => {
  test('a switched-off terminator with a trigger, or answering 200, is not a breaker: opening the circuit is refused, nothing written', async () => {
    for (const config of [{ status_code: 503, trigger: 'x-drain' }, { status_code: 200, body: 'ok' }, { echo: true }]) {
      kong.seed(structuredClone(SEED));
      kong.addPlugin({ name: 'request-termination', route: 'summarize', enabled: false, config });
      const error = await failure(
        gateway.patchRoutePolicy(
          { route: 'summarize' },
          { circuit: { state: 'open', failMode: 'closed' } },
          { idempotencyKey: `breaker-${JSON.stringify(config)}` },
        ),
      );
      expect([error.notSetUp, error.message]).toEqual([
        true,
        expect.stringMatching(/^the request-termination plugin .* is not a plain breaker/) as unknown,
      ]);
      expect(traffic().writes).toEqual([]);
    }
  });
});

describe("a tenant's quotas", () => {
  test('tokensPerDay is the one-day window of the consumer’s ai-rate-limiting-advanced; the undo restores the arrays', async () => {
    const before = view();
    const change = await gateway.patchTenantQuota('acme', { tokensPerDay: 500_000 }, { idempotencyKey: 'q1' });
    expect(change.previous).toEqual({ tokensPerDay: 2_000_000 });
    expect(change.quota).toEqual({ tokensPerDay: 500_000, requestsPerSecond: null, costPerDayUsd: null });
    expect(traffic().writes.map(({ body }) => body)).toEqual([
      {
        config: { llm_providers: [{ name: 'azure', limit: [5_000, 500_000], window_size: [60, 86_400] }] },
        tags: [expect.stringMatching(/^finops-soar:/) as unknown],
      },
    ]);
    await gateway.patchTenantQuota('acme', change.previous, { idempotencyKey: 'q1-undo' });
    expect(view()).toEqual(before);
  });

  test('costPerDayUsd needs the plugin to count cost; requestsPerSecond is a consumer rate-limiting plugin, undone by deletion', async () => {
    const refusedCost = await failure(
      gateway.patchTenantQuota('acme', { costPerDayUsd: 50 }, { idempotencyKey: 'q2' }),
    );
    expect(refusedCost.message).toMatch(
      /^consumer acme has no enabled ai-rate-limiting-advanced plugin of its own counting cost/,
    );
    const before = view();
    const change = await gateway.patchTenantQuota('acme', { requestsPerSecond: 2 }, { idempotencyKey: 'q3' });
    expect(change.previous).toEqual({ requestsPerSecond: null });
    expect(traffic().writes.map(({ url, body }) => [url, body])).toEqual([
      [
        `/consumers/${ids().acme}/plugins`,
        {
          name: 'rate-limiting',
          config: { second: 2, limit_by: 'consumer', policy: 'local' },
          tags: expect.any(Array) as unknown,
        },
      ],
    ]);
    await gateway.patchTenantQuota('acme', { requestsPerSecond: null }, { idempotencyKey: 'q3-undo' });
    expect(view()).toEqual(before);
  });
});

describe("a route's region weights: its ai-proxy-advanced targets", () => {
  test('split by the targets’ descriptions, targets sent whole; a staged undo ends at the exact raw weights', async () => {
    const before = view();
    expect((await gateway.getRegionWeights('chat')).weights).toEqual({ 'us-east-1': 0.75, 'eu-west-1': 0.25 });
    const change = await gateway.setRegionWeights(
      'chat',
      { weights: { 'us-east-1': 0.3, 'eu-west-1': 0.7 } },
      { idempotencyKey: 'w1' },
    );
    expect(change.previous).toEqual({ weights: { 'us-east-1': 0.75, 'eu-west-1': 0.25 } });
    expect(change.weights).toEqual({ 'us-east-1': 0.3, 'eu-west-1': 0.7 });
    const [write] = traffic().writes;
    expect(write!.body).toEqual({
      config: { targets: [TARGET('us-east-1', 300), TARGET('eu-west-1', 700)] },
      tags: [expect.stringMatching(/^finops-soar:/) as unknown, 'finops-soar-before:weights=3.1'],
    });
    // A retry with the same key writes nothing.
    await gateway.setRegionWeights(
      'chat',
      { weights: { 'us-east-1': 0.3, 'eu-west-1': 0.7 } },
      { idempotencyKey: 'w1' },
    );
    expect(traffic().writes).toEqual([]);
    // Half way home, then home: the raw 3 and 1 come back, and the held weights go.
    await gateway.setRegionWeights(
      'chat',
      { weights: { 'us-east-1': 0.5, 'eu-west-1': 0.5 } },
      { idempotencyKey: 'w1-half' },
    );
    await gateway.setRegionWeights('chat', change.previous, { idempotencyKey: 'w1-undo' });
    expect(view()).toEqual(before);
    expect(kong.pluginOf('ai-proxy-advanced', { route: 'chat' })!.tags!.some((tag) => tag.includes('before'))).toBe(
      false,
    );
  });

  test('a region no target serves, or a share that would be a weight under 1, is refused', async () => {
    expect(
      (await failure(gateway.setRegionWeights('chat', { weights: { 'ap-south-1': 1 } }, { idempotencyKey: 'w2' })))
        .message,
    ).toBe('Kong route chat has no ai-proxy-advanced target in ap-south-1 (regions: us-east-1, eu-west-1)');
    const zero = await failure(
      gateway.setRegionWeights('chat', { weights: { 'us-east-1': 1 } }, { idempotencyKey: 'w3' }),
    );
    expect(zero.message).toMatch(/^Kong route chat: region eu-west-1 would get no traffic/);
    expect(traffic().writes).toEqual([]);
  });
});

describe('what Kong lacks', () => {
  test('refused at load by lackedKnobs, naming why, and by the adapter before any call', async () => {
    expect(
      lackedKnobs('kong', 'gateway.setRoutePolicy', { policy: { maxInputTokens: 4096, rateLimitRps: 2 } }),
    ).toEqual([{ knob: 'policy.maxInputTokens', why: expect.stringContaining('not prompts in tokens') as unknown }]);
    expect(
      lackedKnobs('kong', 'gateway.setRoutePolicy', { policy: { modelTier: 'distilled', priority: 3 } }, 'acme').map(
        ({ knob }) => knob,
      ),
    ).toEqual(['policy.modelTier', 'policy.priority']);
    expect(lackedKnobs('kong', 'gateway.setRegionWeights', { weights: { a: 1 } })).toEqual([]);
    const error = await failure(gateway.patchRoutePolicy({ route: 'chat' }, { priority: 10 }, { idempotencyKey: 'p' }));
    expect(error.message).toBe(
      'Kong cannot set policy.priority: Kong has no per-route or per-consumer scheduling priority (docs/gateways.md)',
    );
    expect(traffic().calls).toEqual([]);
  });

  test('a route or tenant Kong does not have is refused, naming it', async () => {
    expect((await failure(gateway.getRoutePolicy({ route: 'nope' }))).message).toBe(
      'Kong has no route named nope (GET /routes/nope): the route label names no Kong route',
    );
    expect((await failure(gateway.getTenantQuota('initech'))).message).toMatch(/^Kong has no consumer initech/);
  });

  test('a label that is a dot segment never becomes a path: refused before any request', async () => {
    for (const label of ['.', '..'])
      expect((await failure(gateway.getTenantQuota(label))).message).toBe(
        `"${label}" names no Kong entity (a route or consumer name cannot be a dot segment)`,
      );
    expect(traffic().calls).toEqual([]);
  });
});
