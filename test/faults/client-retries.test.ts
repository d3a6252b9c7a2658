// The retries the fault matrix asked of the gateway and Kubernetes clients (issue 13, case 4), on the wire: a 429
// is tried again no sooner than its Retry-After, a 5xx after a backoff, a permanent refusal never, and the worker's
// three tries are the most; and Slack's client, which already waited and retried. The servers are the simulator's
// and the tests' Slack server, with faults drawn for every request (rate 1).
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { ControlApiClient } from '../../gateway/control-api-client';
import { createKubernetesAdapter, type KubernetesAdapter } from '../../kubernetes/kubernetes-client';
import { SlackApi } from '../../notify/slack/slack-api';
import { RateFaults, ServerFaults, type FaultKind } from '../../simulator/faults';
import { KubeApiServer } from '../../simulator/kubernetes-api';
import { buildSimulatorApp } from '../../simulator/server';
import { GATEWAY_TOKEN, silentLogger } from '../helpers/simulator';
import { SLACK_BOT_TOKEN, SlackApiServer } from '../helpers/slack-api-server';

let app: FastifyInstance;
let url: string;
const gatewayFaults = new ServerFaults();
let kube: KubeApiServer;
let kubernetes: KubernetesAdapter;
const slack = new SlackApiServer();

beforeAll(async () => {
  app = buildSimulatorApp({ token: GATEWAY_TOKEN, logger: silentLogger(), faults: gatewayFaults });
  await app.listen({ host: '127.0.0.1', port: 0 });
  url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  kube = await KubeApiServer.start();
  kube.addDeployment({ namespace: 'inference', name: 'gpu', replicas: 2 });
  kubernetes = await createKubernetesAdapter({
    kubeconfig: await kube.writeKubeconfig(),
    requestTimeoutMs: 2_000,
    attempts: 3,
  });
  await slack.start();
  slack.addChannel({ id: 'C0RETRY', name: 'retries' });
});

afterAll(async () => {
  await app?.close();
  await kube?.close();
  await slack.close();
});

/** A fault of `kind` for each of the first `count` requests (rate 1 draws one for every request), then none. */
function faultsFor(faults: ServerFaults, kind: FaultKind, count: number): RateFaults {
  faults.rate = new RateFaults({ seed: 0, rate: 1, kinds: [kind], retryAfterSeconds: 1, limit: count });
  return faults.rate;
}

const gaps = (rate: RateFaults) => rate.log.slice(1).map((event, index) => event.atMs - rate.log[index]!.atMs);
const client = (attempts?: number) =>
  new ControlApiClient({ baseUrl: url, token: GATEWAY_TOKEN, timeoutMs: 2_000, attempts });

test('the gateway client waits out a 429 for its Retry-After, then succeeds in the same call', async () => {
  const rate = faultsFor(gatewayFaults, 'throttle', 2);
  const patched = await client(3).patchRoutePolicy(
    { route: 'chat', tenant: 'retry-after' },
    { maxInputTokens: 8192 },
    { idempotencyKey: 'client-retries/throttle' },
  );
  expect(patched.policy.maxInputTokens).toBe(8192);
  // Three requests, the last served, each after a wait of at least the Retry-After (the clock's milliseconds aside).
  expect(rate.log.map((event) => event.fault)).toEqual(['throttle', 'throttle', null]);
  expect(gaps(rate).filter((gap) => gap < 995)).toEqual([]);
});

test('the gateway client tries a 5xx three times at most and within its budget, and a 4xx once', async () => {
  const rate = faultsFor(gatewayFaults, 'error', 5);
  await expect(client(3).getRoutePolicy({ route: 'chat' })).rejects.toMatchObject({ retryable: true });
  expect(rate.counts.error).toBe(3);
  // A try that could end past the call's budget is not started: the caller's deadline stays ahead of the call's.
  const bounded = new ControlApiClient({
    baseUrl: url,
    token: GATEWAY_TOKEN,
    timeoutMs: 2_000,
    attempts: 3,
    budgetMs: 1_000,
  });
  await expect(bounded.getRoutePolicy({ route: 'chat' })).rejects.toMatchObject({ retryable: true });
  expect(rate.counts.error).toBe(4);
  // The default, for callers that retry on their own: one try.
  await expect(client().getRoutePolicy({ route: 'chat' })).rejects.toMatchObject({ retryable: true });
  expect(rate.counts.error).toBe(5);
  gatewayFaults.rate = undefined;
  await expect(client(3).getRoutePolicy({ route: 'no-such-route' })).rejects.toMatchObject({
    retryable: false,
    status: 404,
  });
});

test('the Kubernetes client waits out a 429 for its Retry-After, and tries a 5xx three times at most', async () => {
  const throttled = faultsFor(kube.rateFaults, 'throttle', 1);
  await kubernetes.setScale({ namespace: 'inference', name: 'gpu' }, 4);
  expect(kube.get('deployments', 'inference', 'gpu')?.spec.replicas).toBe(4);
  expect(throttled.log.map((event) => event.fault)).toEqual(['throttle', null]);
  expect(gaps(throttled).filter((gap) => gap < 995)).toEqual([]);

  const failing = faultsFor(kube.rateFaults, 'error', 5);
  await expect(kubernetes.readScale({ namespace: 'inference', name: 'gpu' })).rejects.toMatchObject({
    retryable: true,
  });
  expect(failing.counts.error).toBe(3);
  kube.rateFaults.rate = undefined;
});

test('the Slack client waits out a 429 within its timeout and retries a 5xx, posting the message once', async () => {
  const api = new SlackApi({ token: SLACK_BOT_TOKEN, apiUrl: slack.apiUrl, timeout: 2_000 }, silentLogger());
  const post = (text: string) =>
    api.call('chat.postMessage', { doing: 'testing retries' }, (client) =>
      client.chat.postMessage({ channel: 'C0RETRY', text }),
    );
  const throttled = faultsFor(slack.rateFaults, 'throttle', 1);
  await post('after a 429');
  expect(throttled.log.map((event) => event.fault)).toEqual(['throttle', null]);
  expect(gaps(throttled).filter((gap) => gap < 995)).toEqual([]);
  faultsFor(slack.rateFaults, 'error', 2);
  await post('after two 5xx');
  slack.rateFaults.rate = undefined;
  expect(slack.messages('C0RETRY').map((message) => message.text)).toEqual(['after a 429', 'after two 5xx']);
});
