// The shipped capacity-s2, whole life, on a LiteLLM gateway (gateway.kind litellm) on a real Temporal dev server: the
// Kubernetes API server (seeded with the simulated platform's deployments) takes the scale-out and the batch deferral,
// a real Prometheus answers the budget and GPU checks, and LiteLLM (its admin API served locally,
// test/helpers/litellm-proxy-server.ts) takes chat's move to the other region as its deployments' weights. The staged
// rollback brings the traffic home half way, then all the way, to the exact weights the deployments had.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LiteLlmDeployment } from '../../gateway/litellm/litellm-admin-client';
import { LiteLlmGateway } from '../../gateway/litellm/litellm-gateway';
import { PrometheusClient } from '../../prometheus/prometheus-client';
import { DEFAULT_CATALOG } from '../../simulator/platform/catalog';
import { seedCluster } from '../../simulator/simulated-platform';
import { alertNotificationSignal, statusQuery } from '../../workflows/playbook-run/definitions';
import { alert, resolved } from '../helpers/alerts';
import { LITELLM_MASTER_KEY, LiteLlmProxyServer } from '../helpers/litellm-proxy-server';
import { startPrometheus, type RunningPrometheus } from '../helpers/prometheus';
import { waitFor } from '../helpers/wait';
import { notification, startHarness, type Harness } from '../helpers/workflow-harness';

const QUEUE = 'capacity-on-litellm';
const SPEND = '# TYPE inference_cost_usd_total counter\ninference_cost_usd_total{tenant="acme",route="chat"} 125000\n';
const gpus = (utilization: number) =>
  `${SPEND}# TYPE gpu_utilization gauge\ngpu_utilization{namespace="inference",deployment="llm-premium-us-east-1"} ${utilization}\n`;

// chat served from two regions, 60/40 by weight, as the simulated platform splits it.
const DEPLOYMENTS: LiteLlmDeployment[] = [
  {
    model_name: 'chat',
    litellm_params: { model: 'openai/llama-3.1-405b', weight: 3, region_name: 'us-east-1' },
    model_info: { id: 'chat-us', db_model: true },
  },
  {
    model_name: 'chat',
    litellm_params: { model: 'openai/llama-3.1-405b', weight: 2, region_name: 'eu-west-1' },
    model_info: { id: 'chat-eu', db_model: true },
  },
];

let harness: Harness;
let proxy: LiteLlmProxyServer;
let prometheus: RunningPrometheus;

async function setUtilization(value: number) {
  prometheus.metrics.text = gpus(value);
  const client = new PrometheusClient({ baseUrl: prometheus.url, timeoutMs: 2_000 });
  await waitFor(`Prometheus to read the GPUs at ${value}`, async () => {
    const [sample] = await client.query('gpu_utilization{deployment="llm-premium-us-east-1"}');
    return sample?.value === value || undefined;
  });
}

beforeAll(async () => {
  [harness, proxy, prometheus] = await Promise.all([
    startHarness(),
    LiteLlmProxyServer.start(),
    startPrometheus(gpus(0.97)),
  ]);
  seedCluster(harness.kube, DEFAULT_CATALOG);
  proxy.deployments.push(...structuredClone(DEPLOYMENTS));
  // increase() needs two scrapes; before them the budget check has no answer, and no scale-out.
  await waitFor('two scrapes of the spend', async () => {
    const client = new PrometheusClient({ baseUrl: prometheus.url, timeoutMs: 2_000 });
    return (await client.query('increase(inference_cost_usd_total[1h])')).length > 0 || undefined;
  });
  await harness.startWorker(QUEUE, {
    prometheusUrl: prometheus.url,
    gateway: new LiteLlmGateway({
      baseUrl: proxy.url,
      masterKey: LITELLM_MASTER_KEY,
      timeoutMs: 2_000,
      tiers: { premium: '{route}', standard: '{route}-standard', distilled: '{route}-distilled' },
    }),
  });
});
afterAll(async () => {
  await harness?.close();
  await proxy?.close();
  await prometheus?.close();
});

const seed = (name: string) => readFileSync(join(__dirname, '..', '..', 'playbooks', `${name}.yaml`), 'utf8');
const weights = () =>
  Object.fromEntries(proxy.deployments.map(({ model_info, litellm_params }) => [model_info.id, litellm_params.weight]));

test('capacity-s2 on LiteLLM: replicas up, chat moved to the other region by deployment weights; the staged rollback brings the weights back exactly', async () => {
  const firing = alert({
    alertname: 'GPUSaturatedQueueGrowing',
    severity: 'S2',
    namespace: 'inference',
    deployment: 'llm-premium-us-east-1',
    region: 'us-east-1',
    model: 'llama-3.1-405b-instruct',
  });
  const handle = await harness.fire([seed('capacity-s2'), seed('capacity-s1')], firing, {
    taskQueue: QUEUE,
    gateway: 'litellm',
    cooldownOverrideMs: 300,
    rollbackOverride: { stabiliseMs: 300, holdMs: 1_000, maxHoldMs: 4_000, guardEveryMs: 100 },
    verifyOverride: { withinMs: 500, everyMs: 100 },
  });
  await waitFor('the mitigation', () => harness.stateOf(handle, 'mitigated'));
  const status = await handle.query(statusQuery);
  expect(status.applied.map(({ stepId }) => stepId)).toEqual([
    'raise-autoscaler-ceiling',
    'scale-out',
    'defer-batch',
    'shift-chat-to-eu',
  ]);
  expect(status.applied.find(({ stepId }) => stepId === 'shift-chat-to-eu')?.summary).toBe(
    'region weights of route chat: us-east-1 0.6 → 0.3, eu-west-1 0.4 → 0.7',
  );
  expect(weights()).toEqual({ 'chat-us': 0.3, 'chat-eu': 0.7 });
  expect(harness.kube.get('deployments', 'inference', 'llm-premium-us-east-1')?.spec.replicas).toBe(14);

  await setUtilization(0.5);
  await handle.signal(alertNotificationSignal, notification(resolved(firing)));
  expect((await handle.result()).state).toBe('rolled-back');
  const rollback = (await handle.query(statusQuery)).rollback!;
  expect(
    rollback.events.filter(({ event }) => event.startsWith('shift-chat-to-eu back')).map(({ event }) => event),
  ).toEqual([
    'shift-chat-to-eu back by 0.5: region weights of route chat: us-east-1 0.3 → 0.45, eu-west-1 0.7 → 0.55',
    'shift-chat-to-eu back all the way: region weights of route chat: us-east-1 0.45 → 0.6, eu-west-1 0.55 → 0.4',
  ]);
  // Home at the raw weights the deployments had, not at 0.6 and 0.4.
  expect(weights()).toEqual({ 'chat-us': 3, 'chat-eu': 2 });
  expect(harness.kube.get('deployments', 'inference', 'llm-premium-us-east-1')?.spec.replicas).toBe(10);
});
