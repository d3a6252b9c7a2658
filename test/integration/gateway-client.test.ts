// The Control API client (axios) against the simulator over HTTP: the wire contract, and errors
// classified as retryable or not.
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { GatewayError } from '../../gateway/adapter';
import { ControlApiClient } from '../../gateway/control-api-client';
import { PolicyStore } from '../../simulator/policy-store';
import { buildSimulatorApp } from '../../simulator/server';
import {
  GATEWAY_TOKEN,
  gatewayClient,
  silentLogger,
  startSimulator,
  type RunningSimulator,
} from '../helpers/simulator';

let simulator: RunningSimulator;
beforeAll(async () => (simulator = await startSimulator()));
afterAll(() => simulator.close());

const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => {
      throw new Error('expected a GatewayError');
    },
    (error: unknown) => error as GatewayError,
  );

test('patches with a merge patch and an idempotency key; a retry with the key changes nothing', async () => {
  const scope = { route: 'chat', tenant: 'acme' };
  const first = await simulator.client.patchRoutePolicy(
    scope,
    { maxInputTokens: 8192 },
    { idempotencyKey: 'run-1/cap/apply' },
  );
  const retry = await simulator.client.patchRoutePolicy(
    scope,
    { maxInputTokens: 8192 },
    { idempotencyKey: 'run-1/cap/apply' },
  );
  expect(first.previous).toEqual({ maxInputTokens: null });
  expect(retry).toEqual(first);
  expect(simulator.store.changes).toEqual([
    expect.objectContaining({
      route: 'chat',
      tenant: 'acme',
      patch: { maxInputTokens: 8192 },
      idempotencyKey: 'run-1/cap/apply',
    }),
  ]);
  expect(await simulator.client.getRoutePolicy(scope)).toMatchObject({ policy: { maxInputTokens: 8192 }, revision: 1 });
});

test('the exact request on the wire', async () => {
  const response = await fetch(`${simulator.url}/v1/routes/chat/tenants/globex/policy`, {
    method: 'PATCH',
    headers: {
      Authorization: `Bearer ${GATEWAY_TOKEN}`,
      'Content-Type': 'application/merge-patch+json',
      'Idempotency-Key': 'k-wire',
    },
    body: JSON.stringify({ cacheMode: 'aggressive' }),
  });
  expect(response.status).toBe(200);
  expect(response.headers.get('etag')).toBe('"1"');
  expect(response.headers.get('idempotent-replayed')).toBe('false');
});

test('a 4xx is not retryable and says why', async () => {
  const error = await failure(
    simulator.client.patchRoutePolicy({ route: 'nope' }, { maxInputTokens: 1 }, { idempotencyKey: 'k-404' }),
  );
  expect(error).toBeInstanceOf(GatewayError);
  expect(error).toMatchObject({ retryable: false, status: 404 });
  expect(error.message).toMatch(/^gateway PATCH \/v1\/routes\/nope\/policy answered 404: route nope does not exist/);
});

test('a wrong token is a non-retryable 401', async () => {
  const client = new ControlApiClient({ baseUrl: simulator.url, token: 'wrong-token', timeoutMs: 2_000 });
  expect(await failure(client.getRoutePolicy({ route: 'chat' }))).toMatchObject({ retryable: false, status: 401 });
});

test('an unreachable gateway is retryable', async () => {
  const client = new ControlApiClient({ baseUrl: 'http://127.0.0.1:1', token: GATEWAY_TOKEN, timeoutMs: 2_000 });
  const error = await failure(client.getRoutePolicy({ route: 'chat' }));
  expect(error).toMatchObject({ retryable: true, status: undefined });
  expect(error.message).toMatch(/ECONNREFUSED \(gateway unreachable or too slow\)/);
});

test('route and tenant names are escaped in the path', async () => {
  const error = await failure(simulator.client.getRoutePolicy({ route: 'a/b', tenant: 'x y' }));
  expect(error.message).toMatch(/^gateway GET \/v1\/routes\/a%2Fb\/tenants\/x%20y\/policy answered 404/);
});

interface Deferred {
  promise: Promise<void>;
  resolve(): void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  const promise = new Promise<void>((settle) => (resolve = settle));
  return { promise, resolve };
}

describe('tenant quotas and region weights over HTTP', () => {
  interface WireRequest {
    method: string;
    url: string;
    contentType: string | undefined;
    idempotencyKey: string | undefined;
    authorization: string | undefined;
    body: unknown;
  }

  // The real simulator app, seen from the wire, with faults a real gateway has: it can answer 503
  // after committing a change (the answer is lost), or hold a request past the client's timeout.
  let store: PolicyStore;
  let app: FastifyInstance;
  let url: string;
  let client: ControlApiClient;
  let requests: WireRequest[];
  let lostAnswers: number;
  let held: { gate: Deferred; answered: Deferred } | undefined;

  beforeEach(async () => {
    store = new PolicyStore();
    app = buildSimulatorApp({ token: GATEWAY_TOKEN, logger: silentLogger(), store });
    requests = [];
    lostAnswers = 0;
    held = undefined;
    app.addHook('preHandler', async (request) => {
      const header = (name: string) => request.headers[name] as string | undefined;
      requests.push({
        method: request.method,
        url: request.url,
        contentType: header('content-type'),
        idempotencyKey: header('idempotency-key'),
        authorization: header('authorization'),
        body: request.body,
      });
      if (held) await held.gate.promise;
    });
    app.addHook('onResponse', (_request, _reply, done) => {
      held?.answered.resolve();
      done();
    });
    app.addHook('onSend', async (_request, reply, payload) => {
      if (lostAnswers === 0 || reply.statusCode !== 200) return payload;
      lostAnswers -= 1;
      reply.code(503);
      return JSON.stringify({ error: { code: 'internal', message: 'the admin node crashed before answering' } });
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    client = gatewayClient(url);
  });
  afterEach(() => app.close());

  const wire = (method: string, path: string, headers: Record<string, string> = {}, body?: unknown) =>
    fetch(`${url}${path}`, {
      method,
      headers: {
        Authorization: `Bearer ${GATEWAY_TOKEN}`,
        ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
        ...headers,
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });

  test('reads a quota with an authorised GET of the tenant path', async () => {
    expect(await client.getTenantQuota('acme')).toEqual({
      tenant: 'acme',
      quota: { tokensPerDay: 16_000_000_000, requestsPerSecond: 120, costPerDayUsd: 85_000 },
      revision: 1,
    });
    expect(requests).toEqual([
      {
        method: 'GET',
        url: '/v1/tenants/acme/quota',
        contentType: undefined,
        idempotencyKey: undefined,
        authorization: `Bearer ${GATEWAY_TOKEN}`,
        body: undefined,
      },
    ]);
  });

  test('patches a quota with a merge patch and an idempotency key; a retry answers the first result and changes nothing', async () => {
    const first = await client.patchTenantQuota(
      'globex',
      { costPerDayUsd: 400, tokensPerDay: null },
      { idempotencyKey: 'run-1/quota/apply' },
    );
    expect(requests).toEqual([
      {
        method: 'PATCH',
        url: '/v1/tenants/globex/quota',
        contentType: 'application/merge-patch+json',
        idempotencyKey: 'run-1/quota/apply',
        authorization: `Bearer ${GATEWAY_TOKEN}`,
        body: { costPerDayUsd: 400, tokensPerDay: null },
      },
    ]);
    expect(first).toEqual({
      tenant: 'globex',
      quota: { tokensPerDay: null, requestsPerSecond: 80, costPerDayUsd: 400 },
      revision: 2,
      previous: { costPerDayUsd: 70_000, tokensPerDay: 14_000_000_000 },
    });
    await client.patchTenantQuota('globex', { costPerDayUsd: 300 }, { idempotencyKey: 'someone-else' });
    expect(
      await client.patchTenantQuota(
        'globex',
        { costPerDayUsd: 400, tokensPerDay: null },
        { idempotencyKey: 'run-1/quota/apply' },
      ),
    ).toEqual(first);
    expect(store.changes.map(({ resource, tenant, idempotencyKey }) => ({ resource, tenant, idempotencyKey }))).toEqual(
      [
        { resource: 'quota', tenant: 'globex', idempotencyKey: 'run-1/quota/apply' },
        { resource: 'quota', tenant: 'globex', idempotencyKey: 'someone-else' },
      ],
    );
  });

  test('replaces region weights with a PUT of application/json; a retry answers the first result and changes nothing', async () => {
    expect(await client.getRegionWeights('chat')).toEqual({
      route: 'chat',
      weights: { 'us-east-1': 0.6, 'eu-west-1': 0.4 },
      revision: 1,
    });
    const first = await client.setRegionWeights(
      'chat',
      { weights: { 'eu-west-1': 1 } },
      { idempotencyKey: 'run-1/drain/apply' },
    );
    const retry = await client.setRegionWeights(
      'chat',
      { weights: { 'eu-west-1': 1 } },
      { idempotencyKey: 'run-1/drain/apply' },
    );
    expect(
      requests.slice(1).map(({ method, url, contentType, idempotencyKey, body }) => ({
        method,
        url,
        contentType,
        idempotencyKey,
        body,
      })),
    ).toEqual([
      {
        method: 'PUT',
        url: '/v1/routes/chat/regions',
        contentType: 'application/json',
        idempotencyKey: 'run-1/drain/apply',
        body: { weights: { 'eu-west-1': 1 } },
      },
      {
        method: 'PUT',
        url: '/v1/routes/chat/regions',
        contentType: 'application/json',
        idempotencyKey: 'run-1/drain/apply',
        body: { weights: { 'eu-west-1': 1 } },
      },
    ]);
    expect(first).toEqual({
      route: 'chat',
      weights: { 'us-east-1': 0, 'eu-west-1': 1 },
      revision: 2,
      previous: { weights: { 'us-east-1': 0.6, 'eu-west-1': 0.4 } },
    });
    expect(retry).toEqual(first);
    expect(store.changes).toHaveLength(1);
  });

  test('the replay on the wire: the same status, body and ETag, with Idempotent-Replayed: true', async () => {
    const put = () =>
      wire(
        'PUT',
        '/v1/routes/risk/regions',
        { 'Idempotency-Key': 'k-wire' },
        { weights: { 'us-east-1': 0.7, 'eu-west-1': 0.3 } },
      );
    const first = await put();
    const again = await put();
    expect([first.status, first.headers.get('etag'), first.headers.get('idempotent-replayed')]).toEqual([
      200,
      '"2"',
      'false',
    ]);
    expect([again.status, again.headers.get('etag'), again.headers.get('idempotent-replayed')]).toEqual([
      200,
      '"2"',
      'true',
    ]);
    expect(await again.json()).toEqual(await first.json());
    expect(store.changes).toHaveLength(1);
  });

  test.each([
    [
      'a quota',
      '/v1/tenants/initech/quota',
      'PATCH',
      { 'Content-Type': 'application/merge-patch+json' },
      { requestsPerSecond: 5 },
      'the quota of tenant initech',
    ],
    [
      'region weights',
      '/v1/routes/core/regions',
      'PUT',
      {},
      { weights: { 'eu-west-1': 1 } },
      'the region weights of route core',
    ],
  ])(
    'ETag and If-Match on %s: the current revision applies, a stale one is a 412',
    async (_case, path, method, headers, body, label) => {
      const read = await wire('GET', path);
      expect(read.headers.get('etag')).toBe('"1"');
      const applied = await wire(method, path, { ...headers, 'If-Match': '"1"' }, body);
      expect([applied.status, applied.headers.get('etag')]).toEqual([200, '"2"']);
      const stale = await wire(method, path, { ...headers, 'If-Match': '"1"' }, body);
      expect(stale.status).toBe(412);
      expect(await stale.json()).toEqual({
        error: {
          code: 'revision_mismatch',
          message: `If-Match names revision 1 of ${label}, but the current revision is 2: read it again and retry`,
        },
      });
      expect(store.changes).toHaveLength(1);
    },
  );

  test.each<[string, () => Promise<unknown>, number, string]>([
    [
      'weights that do not sum to 1',
      () =>
        client.setRegionWeights('chat', { weights: { 'us-east-1': 0.5, 'eu-west-1': 0.4 } }, { idempotencyKey: 'k' }),
      422,
      'gateway PUT /v1/routes/chat/regions answered 422: weights: the weights sum to 0.9, not 1: give each region its share of the traffic so the shares add up to 1. Expected: the share of traffic per region, e.g. {"us-east-1": 0.6, "eu-west-1": 0.4}; regions left out get 0',
    ],
    [
      'a region the route is not served in',
      () => client.setRegionWeights('code-assist', { weights: { 'us-west-2': 1 } }, { idempotencyKey: 'k' }),
      422,
      'gateway PUT /v1/routes/code-assist/regions answered 422: route code-assist is not served in us-west-2; its regions are us-east-1, eu-west-1',
    ],
    [
      'an unknown route',
      () => client.getRegionWeights('nope'),
      404,
      'gateway GET /v1/routes/nope/regions answered 404: route nope does not exist; known routes: chat, summarize, code-assist, embeddings, core, risk, fraud',
    ],
    [
      'a quota of zero requests per second',
      () => client.patchTenantQuota('acme', { requestsPerSecond: 0 }, { idempotencyKey: 'k' }),
      422,
      'gateway PATCH /v1/tenants/acme/quota answered 422: requestsPerSecond: Too small: expected number to be >0. Expected: requests per second the tenant may send, all routes together (null: unlimited)',
    ],
  ])('%s is a 4xx that is not retryable and says why', async (_case, call, status, message) => {
    const error = await failure(call());
    expect(error).toBeInstanceOf(GatewayError);
    expect(error).toMatchObject({ retryable: false, status, message });
    expect(store.changes).toEqual([]);
  });

  test('an idempotency key reused for another resource is a non-retryable 422', async () => {
    await client.patchTenantQuota('acme', { costPerDayUsd: 500 }, { idempotencyKey: 'k-once' });
    const error = await failure(
      client.setRegionWeights('chat', { weights: { 'us-east-1': 1 } }, { idempotencyKey: 'k-once' }),
    );
    expect(error).toMatchObject({
      retryable: false,
      status: 422,
      message:
        'gateway PUT /v1/routes/chat/regions answered 422: Idempotency-Key k-once was already used for a different request; use a new key',
    });
  });

  test('a 5xx after the change was applied is retryable, and the retry answers the true previous values without a second change', async () => {
    lostAnswers = 1;
    const error = await failure(
      client.patchTenantQuota('umbrella', { costPerDayUsd: 3_000 }, { idempotencyKey: 'run-2/quota/apply' }),
    );
    expect(error).toMatchObject({
      retryable: true,
      status: 503,
      message: 'gateway PATCH /v1/tenants/umbrella/quota answered 503: the admin node crashed before answering',
    });
    expect(store.getQuota('umbrella').quota.costPerDayUsd).toBe(3_000);

    const retry = await client.patchTenantQuota(
      'umbrella',
      { costPerDayUsd: 3_000 },
      { idempotencyKey: 'run-2/quota/apply' },
    );
    expect(retry.previous).toEqual({ costPerDayUsd: 40_000 });
    expect(store.changes).toHaveLength(1);
  });

  test('a timeout is retryable; the retry of a change the gateway applied late changes nothing more', async () => {
    held = { gate: deferred(), answered: deferred() };
    const impatient = new ControlApiClient({ baseUrl: url, token: GATEWAY_TOKEN, timeoutMs: 50 });
    const error = await failure(
      impatient.setRegionWeights('summarize', { weights: { 'us-east-1': 1 } }, { idempotencyKey: 'run-3/drain/apply' }),
    );
    expect(error).toMatchObject({
      retryable: true,
      status: undefined,
      message: 'gateway PUT /v1/routes/summarize/regions failed: ECONNABORTED (gateway unreachable or too slow)',
    });

    held.gate.resolve();
    await held.answered.promise;
    expect(store.changes).toHaveLength(1);
    const retry = await client.setRegionWeights(
      'summarize',
      { weights: { 'us-east-1': 1 } },
      { idempotencyKey: 'run-3/drain/apply' },
    );
    expect(retry.previous).toEqual({ weights: { 'us-east-1': 0.6, 'eu-west-1': 0.4 } });
    expect(store.changes).toHaveLength(1);
  });

  test('tenant and route names are escaped in the path', async () => {
    expect(await client.getTenantQuota('acme/team x')).toEqual({
      tenant: 'acme/team x',
      quota: { tokensPerDay: null, requestsPerSecond: null, costPerDayUsd: null },
      revision: 0,
    });
    expect(requests[0]!.url).toBe('/v1/tenants/acme%2Fteam%20x/quota');
    expect((await failure(client.getRegionWeights('a/b'))).message).toMatch(
      /^gateway GET \/v1\/routes\/a%2Fb\/regions answered 404/,
    );
  });

  test('lists the tenants with a quota', async () => {
    expect(await (await wire('GET', '/v1/tenants')).json()).toEqual({
      tenants: ['acme', 'globex', 'initech', 'umbrella', 'internal'],
    });
  });
});
