// The Control API client (axios) against the simulator over HTTP: the wire contract, and errors
// classified as retryable or not.
import { GatewayError } from '../../gateway/adapter';
import { ControlApiClient } from '../../gateway/control-api-client';
import { GATEWAY_TOKEN, startSimulator, type RunningSimulator } from '../helpers/simulator';

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
  const first = await simulator.client.patchRoutePolicy(scope, { maxInputTokens: 8192 }, { idempotencyKey: 'run-1/cap/apply' });
  const retry = await simulator.client.patchRoutePolicy(scope, { maxInputTokens: 8192 }, { idempotencyKey: 'run-1/cap/apply' });
  expect(first.previous).toEqual({ maxInputTokens: null });
  expect(retry).toEqual(first);
  expect(simulator.store.changes).toEqual([expect.objectContaining({ route: 'chat', tenant: 'acme', patch: { maxInputTokens: 8192 }, idempotencyKey: 'run-1/cap/apply' })]);
  expect(await simulator.client.getRoutePolicy(scope)).toMatchObject({ policy: { maxInputTokens: 8192 }, revision: 1 });
});

test('the exact request on the wire', async () => {
  const response = await fetch(`${simulator.url}/v1/routes/chat/tenants/globex/policy`, {
    method: 'PATCH',
    headers: { Authorization: `Bearer ${GATEWAY_TOKEN}`, 'Content-Type': 'application/merge-patch+json', 'Idempotency-Key': 'k-wire' },
    body: JSON.stringify({ cacheMode: 'aggressive' }),
  });
  expect(response.status).toBe(200);
  expect(response.headers.get('etag')).toBe('"1"');
  expect(response.headers.get('idempotent-replayed')).toBe('false');
});

test('a 4xx is not retryable and says why', async () => {
  const error = await failure(simulator.client.patchRoutePolicy({ route: 'nope' }, { maxInputTokens: 1 }, { idempotencyKey: 'k-404' }));
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
