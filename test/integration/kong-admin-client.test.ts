// The Kong Admin API client (gateway/kong/kong-admin-client.ts) through its real HTTP code against a local server that
// speaks Kong's Admin API as its source defines it (test/helpers/kong-admin-server.ts): the exact requests, pages
// followed, and each of Kong's error shapes turned into a GatewayError that says what failed and whether a retry helps.
import { KongAdminClient, kongErrorMessage } from '../../gateway/kong/kong-admin-client';
import { KONG_ADMIN_TOKEN, KongAdminServer } from '../helpers/kong-admin-server';
import { gatewayFailure as failure } from '../helpers/gateway-failure';

let kong: KongAdminServer;
let client: KongAdminClient;

beforeAll(async () => {
  kong = await KongAdminServer.start();
  client = new KongAdminClient({ baseUrl: `${kong.url}/`, adminToken: KONG_ADMIN_TOKEN, timeoutMs: 1_000 });
});
afterAll(() => kong?.close());
beforeEach(() => {
  kong.pageSize = 100;
  kong.seed({
    routes: ['chat'],
    consumers: ['acme'],
    plugins: [{ name: 'rate-limiting', route: 'chat', config: { minute: 600 }, tags: ['owner:platform'] }],
  });
});

test('routes and consumers are read by name; a plugin is created, patched and deleted with the exact requests', async () => {
  const route = (await client.route('chat'))!;
  const consumer = (await client.consumer('acme'))!;
  expect([route.name, consumer.username]).toEqual(['chat', 'acme']);
  const created = await client.createPlugin(
    { route: route.id },
    { name: 'request-termination', consumer: { id: consumer.id }, config: { status_code: 503 }, tags: ['t1'] },
  );
  expect(created).toMatchObject({ route: { id: route.id }, consumer: { id: consumer.id }, enabled: true });
  const patched = await client.patchPlugin(created.id, { enabled: false, tags: ['t1', 't2'] });
  expect([patched.enabled, patched.tags]).toEqual([false, ['t1', 't2']]);
  await client.deletePlugin(created.id);
  await client.deletePlugin(created.id); // 204 again: safe to repeat
  expect(await client.plugin(created.id)).toBeNull();
  expect(kong.requests.map(({ method, url, token }) => `${method} ${url} ${token}`)).toEqual(
    [
      'GET /routes/chat',
      'GET /consumers/acme',
      `POST /routes/${route.id}/plugins`,
      `PATCH /plugins/${created.id}`,
      `DELETE /plugins/${created.id}`,
      `DELETE /plugins/${created.id}`,
      `GET /plugins/${created.id}`,
    ].map((call) => `${call} ${KONG_ADMIN_TOKEN}`),
  );
  expect(kong.requests[2]).toMatchObject({
    contentType: 'application/json',
    body: { name: 'request-termination', consumer: { id: consumer.id }, config: { status_code: 503 }, tags: ['t1'] },
  });
});

test('a PATCH merges config field by field, as Kong does, and an unknown route answers null', async () => {
  const [plugin] = kong.plugins;
  const patched = await client.patchPlugin(plugin!.id, { config: { second: 5 } });
  expect(patched.config).toMatchObject({ second: 5, minute: 600, limit_by: 'consumer' });
  expect(await client.route('nope')).toBeNull();
  expect(await client.consumer('nope')).toBeNull();
});

test("a route's plugins are read across pages (next)", async () => {
  kong.pageSize = 2;
  for (const name of ['request-termination', 'ai-semantic-cache', 'ai-prompt-compressor'])
    kong.addPlugin({ name, route: 'chat' });
  const route = (await client.route('chat'))!;
  expect((await client.routePlugins(route.id)).map(({ name }) => name)).toEqual([
    'rate-limiting',
    'request-termination',
    'ai-semantic-cache',
    'ai-prompt-compressor',
  ]);
  expect(kong.requests.slice(1).map(({ url }) => url)).toEqual([
    `/routes/${route.id}/plugins`,
    `/routes/${route.id}/plugins?offset=2`,
  ]);
});

describe("Kong's errors", () => {
  test('400 schema violation: not retryable, the fields named', async () => {
    const route = (await client.route('chat'))!;
    const error = await failure(
      client.createPlugin({ route: route.id }, { name: 'rate-limiting', config: {}, tags: ['a/b'] }),
    );
    expect([error.status, error.retryable]).toEqual([400, false]);
    expect(error.message).toMatch(/^Kong POST \/routes\/.*\/plugins \(rate-limiting\) answered 400: schema violation/);
    expect(error.message).toContain("invalid tag 'a/b'");
    expect(error.message).toContain("at least one of these fields must be non-empty: 'config.second'");
  });

  test('409 unique constraint violation on a create: retryable (another writer made the same plugin)', async () => {
    const route = (await client.route('chat'))!;
    const error = await failure(
      client.createPlugin({ route: route.id }, { name: 'rate-limiting', config: { second: 1 }, tags: [] }),
    );
    expect([error.status, error.retryable]).toEqual([409, true]);
    expect(error.message).toContain('unique constraint violation');
    expect(error.message).toContain('UNIQUE violation detected on');
  });

  test('404 on a PATCH of a deleted plugin: not retryable', async () => {
    const error = await failure(client.patchPlugin('5a5b6ac5-0000-4000-8000-000000000000', { enabled: false }));
    expect([error.status, error.retryable, error.message]).toEqual([
      404,
      false,
      'Kong PATCH /plugins/5a5b6ac5-0000-4000-8000-000000000000 answered 404: Not found',
    ]);
  });

  test('401 without the admin token; 500 retryable, and retried by the wire retries', async () => {
    const open = new KongAdminClient({ baseUrl: kong.url, adminToken: '', timeoutMs: 1_000 });
    const denied = await failure(open.route('chat'));
    expect([denied.status, denied.retryable]).toEqual([401, false]);
    kong.failNext(500);
    const once = await failure(client.route('chat'));
    expect([once.status, once.retryable, once.message]).toEqual([
      500,
      true,
      'Kong GET /routes/chat answered 500: An unexpected error occurred',
    ]);
    const retrying = new KongAdminClient({
      baseUrl: kong.url,
      adminToken: KONG_ADMIN_TOKEN,
      timeoutMs: 1_000,
      attempts: 3,
      backoffMs: 1,
    });
    kong.failNext(502, 503);
    expect((await retrying.route('chat'))?.name).toBe('chat');
  });

  test('a request with no answer times out: retryable, saying so', async () => {
    const quick = new KongAdminClient({ baseUrl: kong.url, adminToken: KONG_ADMIN_TOKEN, timeoutMs: 200 });
    kong.hangNext();
    const error = await failure(quick.route('chat'));
    expect([error.status, error.retryable]).toEqual([undefined, true]);
    expect(error.message).toMatch(
      /^Kong GET \/routes\/chat failed: ECONNABORTED \(Admin API unreachable or too slow\)$/,
    );
  });

  test('message bodies: DAO errors, route errors, strings', () => {
    expect(kongErrorMessage({ message: 'Not found' })).toBe('Not found');
    expect(
      kongErrorMessage({ code: 5, name: 'unique constraint violation', message: 'UNIQUE violation detected' }),
    ).toBe('unique constraint violation: UNIQUE violation detected');
    expect(
      kongErrorMessage({ code: 2, name: 'schema violation', fields: { config: { second: 'expected a number' } } }),
    ).toBe('schema violation {"config":{"second":"expected a number"}}');
    expect(kongErrorMessage('upstream timeout')).toBe('upstream timeout');
    expect(kongErrorMessage(null)).toBeUndefined();
  });
});
