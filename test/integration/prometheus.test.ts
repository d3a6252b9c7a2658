// The Prometheus client and the prometheus.query check against a real Prometheus scraping a local exporter.
import { MockActivityEnvironment } from '@temporalio/testing';
import { ApplicationFailure } from '@temporalio/common';
import { createPrometheusActivities } from '../../prometheus/prometheus-activities';
import { targetOf } from '../../alerts/target';
import { PrometheusClient, PrometheusError } from '../../prometheus/prometheus-client';
import { startPrometheus, type RunningPrometheus } from '../helpers/prometheus';
import { waitFor } from '../helpers/wait';

const EXPORTED = `# TYPE inference_queue_depth gauge
inference_queue_depth{deployment="vllm-chat",region="us-east-1"} 42
inference_queue_depth{deployment="vllm-chat",region="eu-west-1"} 8
# TYPE inference_cost_usd_total counter
inference_cost_usd_total{tenant="acme",route="chat"} 100
`;

let prometheus: RunningPrometheus;
let client: PrometheusClient;

beforeAll(async () => {
  prometheus = await startPrometheus(EXPORTED);
  client = new PrometheusClient({ baseUrl: prometheus.url, timeoutMs: 5_000 });
  await waitFor('the queue depth', async () =>
    (await client.query('inference_queue_depth')).length === 2 ? true : undefined,
  );
});

afterAll(() => prometheus?.close());

test('an instant query answers one sample per series, with its labels', async () => {
  const samples = await client.query('inference_queue_depth');
  expect(samples.map(({ labels, value }) => [labels.region, value]).sort()).toEqual([
    ['eu-west-1', 8],
    ['us-east-1', 42],
  ]);
  expect(samples[0]?.labels).toMatchObject({
    __name__: 'inference_queue_depth',
    job: 'exporter',
    deployment: 'vllm-chat',
  });
  expect(await client.query('scalar(sum(inference_queue_depth))')).toEqual([
    { labels: {}, time: expect.any(Number) as number, value: 50 },
  ]);
});

test('a range query answers the points of each series', async () => {
  const end = new Date();
  const series = await client.queryRange('sum(inference_queue_depth)', new Date(end.getTime() - 5_000), end, 1);
  expect(series).toHaveLength(1);
  expect(series[0]!.points.length).toBeGreaterThan(0);
  expect(series[0]!.points.every(({ value }) => value === 50)).toBe(true);
});

test('a wrong query is not retryable and says to fix it; an unreachable Prometheus is retryable', async () => {
  const wrong = await client.query('sum(rate(inference_queue_depth))').catch((error: unknown) => error);
  expect(wrong).toBeInstanceOf(PrometheusError);
  expect(wrong).toMatchObject({
    retryable: false,
    message: expect.stringMatching(
      /^Prometheus refused sum\(rate\(inference_queue_depth\)\): bad_data: .*; fix the query$/,
    ) as unknown,
  });

  const unreachable = await new PrometheusClient({ baseUrl: 'http://127.0.0.1:9', timeoutMs: 1_000 })
    .query('up')
    .catch((error: unknown) => error);
  expect(unreachable).toMatchObject({
    retryable: true,
    message: expect.stringMatching(
      /^Prometheus at http:\/\/127\.0\.0\.1:9 did not answer .*check prometheus\.url/,
    ) as unknown,
  });
});

describe('the prometheus.query check', () => {
  const env = new MockActivityEnvironment();
  const target = (() => {
    const result = targetOf('deployment', { namespace: 'llm', deployment: 'vllm-chat' });
    if (!result.ok) throw new Error('target');
    return result.target;
  })();
  const check = (query: string) =>
    env.run(createPrometheusActivities(client)['prometheus.query'], { target, params: { query } });

  test('gives the value of a one-series query as a fact, and null when nothing matches', async () => {
    expect(await check('max(inference_queue_depth{deployment="vllm-chat"})')).toEqual({ value: 42 });
    expect(await check('inference_queue_depth{deployment="nothing"}')).toEqual({ value: null });
  });

  test('refuses, not retryably, a query giving several series or bad params', async () => {
    const several = await check('inference_queue_depth').catch((error: unknown) => error);
    expect(several).toBeInstanceOf(ApplicationFailure);
    expect(several).toMatchObject({
      nonRetryable: true,
      type: 'InvalidParams',
      message: expect.stringMatching(/gives 2 series .*aggregate it to one, e\.g\. sum/) as unknown,
    });
    const bad = await env
      .run(createPrometheusActivities(client)['prometheus.query'], { target, params: { query: '' } })
      .catch((error: unknown) => error);
    expect(bad).toMatchObject({
      nonRetryable: true,
      type: 'InvalidParams',
      message: expect.stringMatching(/^prometheus\.query: invalid params: query/) as unknown,
    });
  });
});
