// The simulator's latency histogram as the engine will read it: a real Prometheus scrapes the
// platform's exposition, joins each model's tier from llm_model_info onto the buckets and answers
// p95 per tier with histogram_quantile.
import { DEFAULT_CATALOG, type Catalog } from '../../simulator/platform/catalog';
import { createPlatformMetrics } from '../../simulator/platform/metrics';
import { PlatformModel } from '../../simulator/platform/model';
import { PrometheusClient } from '../../prometheus/prometheus-client';
import { fakeControlPlane, FLAT_ROUTES } from '../helpers/platform';
import { startPrometheus, type RunningPrometheus } from '../helpers/prometheus';
import { waitFor } from '../helpers/wait';

/** Three tenants sending the same chat load, each served by another tier. */
const CATALOG: Catalog = {
  ...DEFAULT_CATALOG,
  routes: FLAT_ROUTES,
  traffic: [
    { tenant: 'acme', route: 'chat', requestsPerSecond: 10 },
    { tenant: 'globex', route: 'chat', requestsPerSecond: 10 },
    { tenant: 'initech', route: 'chat', requestsPerSecond: 10 },
  ],
  seasonality: { amplitude: 0, peakHourUtc: 15 },
  jitter: 0,
};

const P95_BY_TIER =
  'histogram_quantile(0.95, sum by (tier, le) (llm_request_duration_seconds_bucket{route="chat"} * on (model) group_left (tier) llm_model_info))';

let prometheus: RunningPrometheus;
let client: PrometheusClient;

beforeAll(async () => {
  const view = fakeControlPlane(CATALOG);
  view.policies['chat/acme'] = { modelTier: 'distilled' };
  view.policies['chat/globex'] = { modelTier: 'standard' };
  const model = new PlatformModel({ seed: 5, startMs: Date.UTC(2025, 0, 6, 15), controlPlane: view, catalog: CATALOG });
  model.advance(model.nowMs + 60_000);
  prometheus = await startPrometheus(await createPlatformMetrics(model).metrics());
  client = new PrometheusClient({ baseUrl: prometheus.url, timeoutMs: 5_000 });
});

afterAll(() => prometheus?.close());

test('p95 per tier, joined from llm_model_info: distilled < standard < premium on the same load', async () => {
  const p95 = await waitFor('p95 for the three tiers', async () => {
    const samples = await client.query(P95_BY_TIER);
    return samples.length === 3
      ? Object.fromEntries(samples.map(({ labels, value }): [string, number] => [labels.tier ?? 'no tier', value]))
      : undefined;
  });
  // Every answer of a tier lands in one bucket: 1.95 s in (1, 2], 4.85 s in (3, 5], 9.6 s in (8, 13].
  // histogram_quantile interpolates 95% of the way into it.
  expect(p95.distilled).toBeCloseTo(1 + 0.95 * (2 - 1), 9);
  expect(p95.standard).toBeCloseTo(3 + 0.95 * (5 - 3), 9);
  expect(p95.premium).toBeCloseTo(8 + 0.95 * (13 - 8), 9);
});

test('the histogram counts exactly the requests the gateway answered with 200', async () => {
  const difference = await client.query(
    'sum by (tenant) (llm_request_duration_seconds_count) - sum by (tenant) (http_requests_total{code="200"})',
  );
  expect(difference.map(({ labels, value }) => [labels.tenant, value]).sort()).toEqual([
    ['acme', 0],
    ['globex', 0],
    ['initech', 0],
  ]);
  const served = await client.query('sum(llm_request_duration_seconds_count)');
  expect(served[0]?.value).toBe(3 * 600);
});
