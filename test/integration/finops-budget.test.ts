// The scale-out budget check against a real Prometheus (spend scraped from a local exporter) and
// the Kubernetes API server (GPUs per replica from the pod template).
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import type { Facts } from '../../activities/action-contract';
import { createFinopsActivities, type FinopsSettings } from '../../finops/finops-activities';
import { targetOf, type Target } from '../../alerts/target';
import { createKubernetesAdapter, type KubernetesAdapter } from '../../kubernetes/kubernetes-client';
import { PrometheusClient } from '../../prometheus/prometheus-client';
import type { BudgetReport } from '../../finops/budget';
import { EngineMetrics } from '../../observability/engine-metrics';
import { KUBE_TOKEN, KubeApiServer } from '../../simulator/kubernetes-api';
import { startPrometheusWithSpend, type RunningPrometheus } from '../helpers/prometheus';
import { waitFor } from '../helpers/wait';

let prometheus: RunningPrometheus;
let kube: KubeApiServer;
let kubernetes: KubernetesAdapter;
const env = new MockActivityEnvironment();
const target = ((): Target => {
  const result = targetOf('deployment', { namespace: 'inference', deployment: 'llm-premium-us-east-1' });
  if (!result.ok) throw new Error('target');
  return result.target;
})();

beforeAll(async () => {
  // acme spends $400 a second; globex's counter stands still.
  prometheus = await startPrometheusWithSpend([
    { labels: 'tenant="acme",route="chat"', fromUsd: 1000, usdPerTick: 100 },
    { labels: 'tenant="globex",route="chat"', fromUsd: 500, usdPerTick: 0 },
  ]);
  kube = await KubeApiServer.start();
  kube.addDeployment({ namespace: 'inference', name: 'llm-premium-us-east-1', replicas: 10, gpusPerReplica: 8 });
  kubernetes = await createKubernetesAdapter({ server: { url: kube.url, token: KUBE_TOKEN }, requestTimeoutMs: 5_000 });
  // Two scrapes, so increase() has samples to work with.
  await waitFor('two scrapes of the spend', async () => {
    const samples = await new PrometheusClient({ baseUrl: prometheus.url, timeoutMs: 2_000 }).query(
      'count_over_time(inference_cost_usd_total{tenant="acme"}[1m])',
    );
    return (samples[0]?.value ?? 0) >= 2 || undefined;
  });
});
afterAll(async () => {
  await prometheus?.close();
  await kube?.close();
});

const settings = (monthlyUsd: number): FinopsSettings => ({
  budgets: {
    platform: { monthlyUsd, selector: '' },
    acme: { monthlyUsd, selector: 'tenant="acme"' },
    globex: { monthlyUsd, selector: 'tenant="globex"' },
    typo: { monthlyUsd, selector: 'tenant="acne"' },
  },
  gpuHourlyUsd: 2.5,
  headroom: 0.1,
});
const metrics = new EngineMetrics();
const finops = (monthlyUsd: number) =>
  createFinopsActivities({
    prometheus: new PrometheusClient({ baseUrl: prometheus.url, timeoutMs: 5_000 }),
    kubernetes,
    settings: settings(monthlyUsd),
    metrics,
  });
const check = (monthlyUsd: number, params: Record<string, unknown>): Promise<Facts> =>
  env.run(finops(monthlyUsd)['finops.scaleOutBudget'], { target, params });

test('ample budget: allowed, with the scale-out priced from the pod template’s GPUs', async () => {
  const facts = await check(10_000_000, { budget: 'platform', addReplicas: 4, expectedHours: 6 });
  // 4 replicas × 8 GPUs × $2.50 × 6 h.
  expect(facts).toMatchObject({ allowed: true, budgetUsd: 10_000_000, limitUsd: 9_000_000, scaleOutUsd: 480 });
  expect(facts.forecastUsd).toBeGreaterThanOrEqual(facts.monthToDateUsd as number);
  expect(facts.reason).toMatch(
    /^forecast up to \$[\d,]+ \(expected \$[\d,]+\) \+ scale-out \$480 = \$[\d,]+ within \$9,000,000 \(budget \$10,000,000 less 10% headroom\)$/,
  );
});

test('a budget the scale-out alone would break: refused, saying so', async () => {
  const facts = await check(500, { budget: 'platform', addReplicas: 4, expectedHours: 6 });
  expect(facts).toMatchObject({ allowed: false, limitUsd: 450, scaleOutUsd: 480 });
  expect(facts.reason).toMatch(/ over \$450 /);
});

test('a budget’s selector chooses the spend that counts; spend nothing matches is no answer, not $0', async () => {
  await waitFor(
    'acme spend in Prometheus',
    async () =>
      ((await check(10_000_000, { budget: 'acme', addReplicas: 1, expectedHours: 1 })).monthToDateUsd as number) > 0 ||
      undefined,
  );
  const acme = await check(10_000_000, { budget: 'acme', addReplicas: 1, expectedHours: 1 });
  const globex = await check(10_000_000, { budget: 'globex', addReplicas: 1, expectedHours: 1 });
  const platform = await check(10_000_000, { budget: 'platform', addReplicas: 1, expectedHours: 1 });
  expect(globex).toMatchObject({ monthToDateUsd: 0, forecastUsd: 0, scaleOutUsd: 20 });
  expect(acme.forecastUsd as number).toBeGreaterThan(acme.monthToDateUsd as number);
  expect(platform.monthToDateUsd as number).toBeGreaterThanOrEqual(acme.monthToDateUsd as number);

  const typo = await check(10_000_000, { budget: 'typo', addReplicas: 1, expectedHours: 1 }).catch(
    (error: unknown) => error,
  );
  expect(typo).toMatchObject({
    nonRetryable: true,
    type: 'NoSpendData',
    message: expect.stringMatching(
      /^finops\.scaleOutBudget: no spend matches sum\(increase\(inference_cost_usd_total\{tenant="acne"\}\[\d+s\]\)\); check finops\.budgets\.typo\.selector/,
    ) as unknown,
  });
});

test('an unknown budget or deployment is refused, not retried, saying what to fix', async () => {
  const unknown = await check(1, { budget: 'marketing', addReplicas: 1, expectedHours: 1 }).catch(
    (error: unknown) => error,
  );
  expect(unknown).toBeInstanceOf(ApplicationFailure);
  expect(unknown).toMatchObject({
    nonRetryable: true,
    message:
      'finops.scaleOutBudget: no budget named marketing; define finops.budgets.marketing in the config (defined: platform, acme, globex, typo)',
  });

  const missing = targetOf('deployment', { namespace: 'inference', deployment: 'llm-gone' });
  if (!missing.ok) throw new Error('target');
  const gone = await env
    .run(finops(1)['finops.scaleOutBudget'], {
      target: missing.target,
      params: { budget: 'platform', addReplicas: 1, expectedHours: 1 },
    })
    .catch((error: unknown) => error);
  expect(gone).toMatchObject({
    nonRetryable: true,
    type: 'KubernetesRejected',
    message: expect.stringMatching(/llm-gone/) as unknown,
  });
});

test("a budget report: the month's spend, the daily pace and the forecast, also set as the engine's budget gauges", async () => {
  const report: BudgetReport = await env.run(finops(1_000_000)['finops.budgetReport'], 'acme');
  expect(report).toMatchObject({ budget: 'acme', month: new Date().toISOString().slice(0, 7), monthlyUsd: 1_000_000 });
  expect(report.spentUsd).toBeGreaterThan(0);
  expect(report.forecastUsd).toBeGreaterThanOrEqual(report.spentUsd);
  const gauge = async (name: string) =>
    (await metrics.registry.getSingleMetric(name)!.get()).values.find(({ labels }) => labels.budget === 'acme')?.value;
  expect(await gauge('finops_soar_budget_usd')).toBe(1_000_000);
  expect(await gauge('finops_soar_budget_spent_usd')).toBeCloseTo(report.spentUsd, 1);
  expect(await gauge('finops_soar_budget_consumed_ratio')).toBeCloseTo(report.spentUsd / 1_000_000, 6);
  expect(await env.run(finops(1)['finops.budgetNames'])).toEqual(['acme', 'globex', 'platform', 'typo']);
  await expect(env.run(finops(1)['finops.budgetReport'], 'typo')).rejects.toMatchObject({
    nonRetryable: true,
    type: 'NoSpendData',
  });
});

test("a deployment's GPU cost rate: replicas × GPUs per pod × the GPU-hour price, read when asked", async () => {
  const cost = () => env.run(finops(1)['finops.gpuCostRate'], { target, params: {} });
  // 10 replicas × 8 GPUs × $2.50.
  expect(await cost()).toEqual({ usdPerHour: 200, replicas: 10, gpusPerReplica: 8, gpuHourlyUsd: 2.5 });
  const deployment = { namespace: 'inference', name: 'llm-premium-us-east-1' };
  await kubernetes.setScale(deployment, 14);
  try {
    expect(await cost()).toMatchObject({ usdPerHour: 280, replicas: 14 });
  } finally {
    await kubernetes.setScale(deployment, 10);
  }
});

test("a budget's burn rate: its spend rate over the pace that spends it in 30 days; a budget nobody spends burns 0", async () => {
  const burn = (budget: string, monthlyUsd: number): Promise<Facts> =>
    env.run(finops(monthlyUsd)['finops.burnRate'], { target, params: { budget, window: '10s' } });
  // acme spends about $400 a second (less when the exporter's timer runs late): on pace for a budget of that times 30
  // days. Its first seconds in Prometheus grow slower (the exporter starts counting after Prometheus starts).
  const onPace = 400 * 30 * 86_400;
  const client = new PrometheusClient({ baseUrl: prometheus.url, timeoutMs: 2_000 });
  await waitFor('15 s of acme spend in Prometheus', async () => {
    const [age] = await client.query(
      'time() - min_over_time(timestamp(inference_cost_usd_total{tenant="acme"})[1m:100ms])',
    );
    return (age?.value ?? 0) >= 15 || undefined;
  });
  const acme = (await burn('acme', onPace)).burnRate as number;
  expect(acme).toBeGreaterThan(0.5);
  expect(acme).toBeLessThan(1.2);
  expect(await burn('globex', onPace)).toEqual({ burnRate: 0 });
  await expect(burn('marketing', onPace)).rejects.toMatchObject({
    nonRetryable: true,
    message: expect.stringMatching(/^finops\.burnRate: no budget named marketing/) as unknown,
  });
});
