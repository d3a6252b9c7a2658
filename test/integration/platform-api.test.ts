// The simulated platform's HTTP surface on a loopback port: /metrics in Prometheus text format with
// counters equal to the ground truth, OpenAI-style chat completions through the gateway policy,
// incident injection with field-level validation, and bearer auth.
import Fastify, { type FastifyInstance } from 'fastify';
import type { AddressInfo } from 'node:net';
import { DEFAULT_CATALOG, type Catalog } from '../../simulator/platform/catalog';
import { registerPlatformApi } from '../../simulator/platform/api';
import { LATENCY_BUCKETS_SECONDS, PlatformModel, type ServedTotals } from '../../simulator/platform/model';
import { fakeControlPlane, FLAT_ROUTES, type FakeControlPlane } from '../helpers/platform';

const TOKEN = 'test-platform-token-0123456789';
const START = Date.UTC(2025, 0, 6, 15, 0, 0);

const CATALOG: Catalog = {
  ...DEFAULT_CATALOG,
  routes: FLAT_ROUTES,
  traffic: [
    { tenant: 'acme', route: 'chat', requestsPerSecond: 10 },
    { tenant: 'globex', route: 'summarize', requestsPerSecond: 4 },
  ],
  seasonality: { amplitude: 0, peakHourUtc: 15 },
  jitter: 0,
};

/** A plain-object control plane the tests change between requests. */
let controlPlane: FakeControlPlane;
let app: FastifyInstance;
let model: PlatformModel;
let url: string;

beforeEach(async () => {
  controlPlane = fakeControlPlane(CATALOG);
  model = new PlatformModel({ seed: 3, startMs: START, controlPlane, catalog: CATALOG, env: 'test' });
  app = Fastify();
  registerPlatformApi(app, { model, token: TOKEN });
  await app.listen({ host: '127.0.0.1', port: 0 });
  url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
});
afterEach(() => app.close());

const authorized = { Authorization: `Bearer ${TOKEN}` };

async function call(method: string, path: string, options: { body?: unknown; headers?: Record<string, string> } = {}) {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: {
      ...authorized,
      ...(options.body === undefined ? {} : { 'Content-Type': 'application/json' }),
      ...options.headers,
    },
    body:
      options.body === undefined
        ? undefined
        : typeof options.body === 'string'
          ? options.body
          : JSON.stringify(options.body),
  });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    text,
    json: () => JSON.parse(text) as Record<string, unknown> & { error: Record<string, unknown> },
  };
}

const chat = (body: unknown, headers: Record<string, string> = { 'X-Tenant': 'acme' }) =>
  call('POST', '/v1/chat/completions', { body, headers });
const hello = { model: 'gpt-4o', messages: [{ role: 'user', content: 'x'.repeat(400) }] };

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Prometheus text exposition: `name{label="value",...} number` lines; comments carry HELP and TYPE. */
function parseExposition(text: string): { samples: Sample[]; types: Record<string, string> } {
  const samples: Sample[] = [];
  const types: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) types[type[1]!] = type[2]!;
    if (line === '' || line.startsWith('#')) continue;
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!sample) throw new Error(`not a sample line: ${line}`);
    const labels = Object.fromEntries(
      [...(sample[2] ?? '').matchAll(/([a-zA-Z_]\w*)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1]!, m[2]!]),
    );
    samples.push({ name: sample[1]!, labels, value: Number(sample[3]) });
  }
  return { samples, types };
}

const sum = (samples: Sample[], name: string, match: Record<string, string> = {}) =>
  samples
    .filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v))
    .reduce((total, s) => total + s.value, 0);

describe('/metrics', () => {
  test('needs no token, speaks the text format, and every counter equals the ground truth', async () => {
    controlPlane.policies['chat/acme'] = { rateLimitRps: 6, cacheMode: 'standard' };
    controlPlane.policies.summarize = { circuit: { state: 'open', failMode: 'closed' } };
    model.injectIncident({ kind: 'spend_spike', tenant: 'acme', magnitude: 2, durationSeconds: 5 });
    for (let second = 0; second < 20; second++) model.tick(1);
    expect((await chat(hello, { 'X-Tenant': 'initech' })).status).toBe(200);

    const response = await fetch(`${url}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const { samples, types } = parseExposition(await response.text());
    expect(types).toEqual({
      inference_cost_usd_total: 'counter',
      llm_tokens_total: 'counter',
      http_requests_total: 'counter',
      llm_tokens_baseline: 'gauge',
      llm_cache_hit_ratio: 'gauge',
      llm_request_duration_seconds: 'histogram',
      llm_model_info: 'gauge',
      gpu_utilization: 'gauge',
      inference_queue_depth: 'gauge',
      inference_queue_backlog_seconds: 'gauge',
      inference_deployment_replicas: 'gauge',
      gpu_memory_total_bytes: 'gauge',
      gpu_memory_used_bytes: 'gauge',
      cpu_utilization: 'gauge',
      llm_prompt_filter_hits_total: 'counter',
      storage_bytes: 'gauge',
      storage_cost_usd_total: 'counter',
      storage_written_bytes_total: 'counter',
      network_egress_bytes_total: 'counter',
      network_egress_cost_usd_total: 'counter',
    });
    expect(sum(samples, 'llm_prompt_filter_hits_total')).toBe(
      model.promptFilterHits().reduce((total, { hits }) => total + hits, 0),
    );
    const written = model.storage.totals().find(({ domain }) => domain === 'request-logs')!.writtenBytes;
    expect(written).toBeGreaterThan(0);
    expect(sum(samples, 'storage_written_bytes_total', { data_domain: 'request-logs' })).toBe(written);

    const truth = (await call('GET', '/v1/ground-truth')).json() as unknown as {
      byTenantRoute: Array<{
        tenant: string;
        route: string;
        served: number;
        rejected: number;
        inputTokens: number;
        outputTokens: number;
        costUsd: number;
        rejectedByReason: Record<string, number>;
      }>;
    };
    expect(truth.byTenantRoute.map((t) => `${t.tenant}/${t.route}`).sort()).toEqual([
      'acme/chat',
      'globex/summarize',
      'initech/chat',
    ]);
    for (const t of truth.byTenantRoute) {
      const scope = { tenant: t.tenant, route: t.route };
      expect(sum(samples, 'http_requests_total', { ...scope, code: '200' })).toBe(t.served);
      expect(
        sum(samples, 'http_requests_total', { ...scope, code: '429' }) +
          sum(samples, 'http_requests_total', { ...scope, code: '503' }),
      ).toBe(t.rejected);
      expect(sum(samples, 'llm_tokens_total', { ...scope, type: 'input' })).toBe(t.inputTokens);
      expect(sum(samples, 'llm_tokens_total', { ...scope, type: 'output' })).toBe(t.outputTokens);
      expect(sum(samples, 'inference_cost_usd_total', scope)).toBeCloseTo(t.costUsd, 9);
    }
    // 5 s at 20/s then 15 s at 10/s, 6 a second admitted.
    expect(truth.byTenantRoute.find((t) => t.tenant === 'acme')).toMatchObject({
      served: 120,
      rejected: 130,
      rejectedByReason: { rate_limited: 130 },
    });
    expect(sum(samples, 'http_requests_total', { tenant: 'globex', code: '503' })).toBe(80);

    expect(samples.find((s) => s.name === 'inference_cost_usd_total' && s.labels.tenant === 'acme')!.labels).toEqual({
      tenant: 'acme',
      route: 'chat',
      model: 'llama-3.1-405b-instruct',
      model_version: '2024-07-23',
      region: expect.stringMatching(/^(us-east-1|eu-west-1)$/) as unknown,
      env: 'test',
    });
    // The seed's meaning: the route's usual input tokens per request, one series per route.
    expect(samples.filter((s) => s.name === 'llm_tokens_baseline' && s.labels.route === 'chat')).toEqual([
      { name: 'llm_tokens_baseline', labels: { route: 'chat', env: 'test' }, value: 1_200 },
    ]);
    expect(samples.find((s) => s.name === 'llm_cache_hit_ratio' && s.labels.tenant === 'acme')).toMatchObject({
      value: 0.25,
    });
    const gpu = samples.filter((s) => s.name === 'gpu_utilization');
    expect(gpu.map((s) => s.labels.deployment)).toEqual(CATALOG.deployments.map((d) => d.name));
    expect(gpu[0]!.labels).toEqual({
      deployment: 'llm-premium-us-east-1',
      namespace: 'inference',
      model: 'llama-3.1-405b-instruct',
      model_version: '2024-07-23',
      region: 'us-east-1',
      zone: 'us-east-1a',
      env: 'test',
    });
    expect(samples.filter((s) => s.name === 'inference_queue_depth')).toHaveLength(CATALOG.deployments.length);
  });

  test('the latency histogram: cumulative buckets, a count equal to the served requests, the sum and buckets of the ground truth', async () => {
    // acme's chat on the distilled tier, half from cache, over its rate limit; globex's summarize saturates premium in
    // us-east-1.
    controlPlane.policies['chat/acme'] = { modelTier: 'distilled', cacheMode: 'aggressive', rateLimitRps: 8 };
    controlPlane.weights.summarize = { 'us-east-1': 1, 'eu-west-1': 0 };
    controlPlane.replicaCounts['llm-premium-us-east-1'] = 0;
    for (let second = 0; second < 20; second++) model.tick(1);
    expect((await chat(hello, { 'X-Tenant': 'initech' })).status).toBe(200);

    const { samples } = parseExposition(await (await fetch(`${url}/metrics`)).text());
    const truth = (await call('GET', '/v1/ground-truth')).json() as unknown as { served: ServedTotals[] };
    const labelsOf = (s: ServedTotals) => ({
      tenant: s.tenant,
      route: s.route,
      model: s.model,
      model_version: s.modelVersion,
      region: s.region,
      env: 'test',
    });
    const seriesKey = (labels: Record<string, string>) =>
      ['tenant', 'route', 'model', 'model_version', 'region', 'env'].map((name) => labels[name]).join('/');
    const counts = samples.filter((s) => s.name === 'llm_request_duration_seconds_count');
    expect(counts.map((s) => seriesKey(s.labels)).sort()).toEqual(
      truth.served.map((s) => seriesKey(labelsOf(s))).sort(),
    );

    for (const served of truth.served) {
      const labels = labelsOf(served);
      const buckets = samples.filter(
        (s) => s.name === 'llm_request_duration_seconds_bucket' && seriesKey(s.labels) === seriesKey(labels),
      );
      expect(buckets.map((s) => s.labels.le)).toEqual([...LATENCY_BUCKETS_SECONDS.map(String), '+Inf']);
      let cumulative = 0;
      expect(buckets.map((s) => s.value)).toEqual(served.latencyBucketCounts.map((n) => (cumulative += n)));
      expect(sum(samples, 'llm_request_duration_seconds_count', labels)).toBe(served.requests);
      expect(sum(samples, 'llm_request_duration_seconds_sum', labels)).toBe(served.latencySumSeconds);
      // The code 200 counter has no model label: one region's served requests, whatever model served them.
      const scope = { tenant: served.tenant, route: served.route, region: served.region };
      expect(sum(samples, 'http_requests_total', { ...scope, code: '200' })).toBe(
        sum(samples, 'llm_request_duration_seconds_count', scope),
      );
    }
    // 8 a second admitted of 10: rejected requests are not observed.
    expect(sum(samples, 'llm_request_duration_seconds_count', { tenant: 'acme' })).toBe(160);
    expect(sum(samples, 'http_requests_total', { tenant: 'acme', code: '429' })).toBe(40);
    // Half of acme's answers come from cache, in the first bucket; the rest take the distilled model's 1.95 s.
    expect(sum(samples, 'llm_request_duration_seconds_bucket', { tenant: 'acme', le: '0.05' })).toBe(
      model.totals('acme', 'chat').cacheHits,
    );
    expect(sum(samples, 'llm_request_duration_seconds_bucket', { tenant: 'acme', le: '1' })).toBe(
      model.totals('acme', 'chat').cacheHits,
    );
    expect(sum(samples, 'llm_request_duration_seconds_bucket', { tenant: 'acme', le: '2' })).toBe(160);
    // No replicas behind us-east-1's premium: every summarize request there waits the cap and lands above the last
    // bound.
    expect(sum(samples, 'llm_request_duration_seconds_bucket', { tenant: 'globex', le: '60' })).toBe(0);
    expect(sum(samples, 'llm_request_duration_seconds_bucket', { tenant: 'globex', le: '+Inf' })).toBe(80);

    expect(samples.filter((s) => s.name === 'llm_model_info')).toEqual(
      CATALOG.models.map((m) => ({
        name: 'llm_model_info',
        labels: { model: m.name, model_version: m.version, tier: m.tier, env: 'test' },
        value: 1,
      })),
    );
  });
});

describe('auth', () => {
  test.each([
    ['POST', '/v1/chat/completions'],
    ['POST', '/v1/incidents'],
    ['GET', '/v1/incidents'],
    ['DELETE', '/v1/incidents/inc-1'],
    ['GET', '/v1/ground-truth'],
  ])('%s %s without the right bearer token is 401 and changes nothing', async (method, path) => {
    for (const headers of [
      { Authorization: '' },
      { Authorization: 'Bearer wrong-token' },
      { Authorization: `Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}` },
    ]) {
      const response = await call(method, path, {
        body: method === 'POST' ? { ...hello, kind: 'spend_spike', magnitude: 2 } : undefined,
        headers: { ...headers, 'X-Tenant': 'acme' },
      });
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toBe('Bearer');
      expect(response.json()).toEqual({
        error: {
          message: 'missing or wrong bearer token',
          type: 'invalid_request_error',
          param: null,
          code: 'invalid_api_key',
        },
      });
    }
    expect(model.groundTruth().served).toEqual([]);
    expect(model.incidents()).toEqual([]);
  });
});

describe('POST /v1/chat/completions', () => {
  test('answers the OpenAI shape with usage after the policy, deterministically, and records the request', async () => {
    controlPlane.policies.chat = { promptCompression: true };
    const first = await chat(hello);
    expect(first.status).toBe(200);
    expect(first.headers.get('content-type')).toMatch(/^application\/json/);
    expect(first.headers.get('x-cache')).toBe('miss');
    // 3 priming + 3 per message + 400 characters / 4, then compressed to 60%.
    const prompt = Math.ceil((3 + 3 + 100) * 0.6);
    expect(first.json()).toEqual({
      id: 'chatcmpl-sim-1',
      object: 'chat.completion',
      created: START / 1000,
      model: 'llama-3.1-405b-instruct',
      choices: [
        {
          index: 0,
          message: {
            role: 'assistant',
            content: 'Simulated llama-3.1-405b-instruct answer for acme on chat: 300 tokens.',
          },
          logprobs: null,
          finish_reason: 'stop',
        },
      ],
      usage: { prompt_tokens: prompt, completion_tokens: 300, total_tokens: prompt + 300 },
    });
    const again = (await chat(hello)).json();
    expect(again).toEqual({ ...first.json(), id: 'chatcmpl-sim-2' });
    expect(model.totals('acme', 'chat')).toMatchObject({ served: 2, inputTokens: 2 * prompt, outputTokens: 600 });
    expect(model.totals('acme', 'chat').costUsd).toBeCloseTo(2 * ((prompt / 1000) * 0.005 + 0.3 * 0.015), 12);
  });

  test('the tenant comes from X-Tenant or the user field, the route from X-Route; max_tokens stops the answer early', async () => {
    const response = await chat(
      { ...hello, user: 'globex', max_tokens: 50, temperature: 0.2 },
      { 'X-Route': 'summarize' },
    );
    expect(response.status).toBe(200);
    expect(response.json()).toMatchObject({ choices: [{ finish_reason: 'length' }], usage: { completion_tokens: 50 } });
    expect(model.totals('globex', 'summarize')).toMatchObject({ served: 1, outputTokens: 50 });
  });

  test("a request over the rate limit is 429 in OpenAI's shape with Retry-After; the next second admits again", async () => {
    controlPlane.policies['chat/acme'] = { rateLimitRps: 1 };
    expect((await chat(hello)).status).toBe(200);
    const throttled = await chat(hello);
    expect(throttled.status).toBe(429);
    expect(throttled.headers.get('retry-after')).toBe('1');
    expect(throttled.json()).toEqual({
      error: {
        message: "tenant acme exceeded route chat's rate limit (policy rateLimitRps); retry after 1 s",
        type: 'requests',
        param: null,
        code: 'rate_limit_exceeded',
      },
    });
    model.advance(START + 1_000);
    // The tick's own background requests come first; a later request waits for the following second.
    expect(model.totals('acme', 'chat')).toMatchObject({ served: 2, rejectedByReason: { rate_limited: 10 } });
  });

  test('a tenant over its daily token quota gets 429 insufficient_quota until midnight UTC', async () => {
    controlPlane.quotas.initech = { tokensPerDay: 100, requestsPerSecond: null, costPerDayUsd: null };
    expect((await chat(hello, { 'X-Tenant': 'initech' })).status).toBe(200);
    const refused = await chat(hello, { 'X-Tenant': 'initech' });
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe(String(9 * 3_600));
    expect(refused.json().error).toMatchObject({
      type: 'insufficient_quota',
      code: 'insufficient_quota',
      message: expect.stringContaining('tenant initech used up its daily token quota (tokensPerDay)') as unknown,
    });
  });

  test('an open breaker: 503 when it fails closed; the fallback model answers when it fails open', async () => {
    controlPlane.policies.chat = { circuit: { state: 'open', failMode: 'closed' } };
    const refused = await chat(hello);
    expect(refused.status).toBe(503);
    expect(refused.json().error).toEqual({
      message: 'the circuit breaker on route chat is open and fails closed; requests are refused until it closes',
      type: 'server_error',
      param: null,
      code: 'circuit_open',
    });
    controlPlane.policies.chat = {
      circuit: { state: 'open', failMode: 'open' },
      fallbackModel: 'llama-3.1-8b-instruct',
    };
    const passed = await chat(hello);
    expect(passed.status).toBe(200);
    expect(passed.json()).toMatchObject({ model: 'llama-3.1-8b-instruct' });
    expect(model.totals('acme', 'chat')).toMatchObject({ served: 1, rejectedByReason: { circuit_open: 1 } });
  });

  test.each([
    ['no messages', { model: 'gpt-4o', messages: [] }, 'messages'],
    ['no model', { messages: [{ role: 'user', content: 'hi' }] }, 'model'],
    ['an unknown role', { ...hello, messages: [{ role: 'robot', content: 'hi' }] }, 'messages[0].role'],
    ['max_tokens 0', { ...hello, max_tokens: 0 }, 'max_tokens'],
    ['streaming', { ...hello, stream: true }, 'stream'],
  ])('a malformed body (%s) is 400 naming the parameter', async (_case, body, param) => {
    const response = await chat(body);
    expect(response.status).toBe(400);
    expect(response.json().error).toMatchObject({
      type: 'invalid_request_error',
      code: 'invalid_body',
      param,
      message: expect.stringContaining(`${param}: `) as unknown,
    });
    expect(model.groundTruth().served).toEqual([]);
  });

  test('no tenant is 400, an unknown route 404, a body that is not JSON 400', async () => {
    expect((await chat(hello, {})).json().error).toMatchObject({ code: 'tenant_required', param: 'user' });
    const unknownRoute = await chat(hello, { 'X-Tenant': 'acme', 'X-Route': 'fraud' });
    expect(unknownRoute.status).toBe(404);
    expect(unknownRoute.json().error).toMatchObject({
      code: 'route_not_found',
      message: 'route fraud (X-Route) does not exist; known routes: chat, summarize',
    });
    const notJson = await chat('{"model":', { 'X-Tenant': 'acme' });
    expect(notJson.status).toBe(400);
    expect(notJson.json().error).toMatchObject({ type: 'invalid_request_error', code: 'bad_request' });
  });
});

describe('/v1/incidents', () => {
  test('inject, list, see the effect, clear; clearing twice is 404', async () => {
    controlPlane.policies.chat = { cacheMode: 'aggressive' };
    const created = await call('POST', '/v1/incidents', {
      body: { kind: 'cache_collapse', route: 'chat', magnitude: 1, durationSeconds: 600 },
    });
    expect(created.status).toBe(201);
    expect(created.json()).toEqual({
      incident: {
        id: 'inc-1',
        kind: 'cache_collapse',
        tenant: null,
        route: 'chat',
        deployment: null,
        magnitude: 1,
        startsAt: '2025-01-06T15:00:00.000Z',
        endsAt: '2025-01-06T15:10:00.000Z',
      },
    });
    for (let i = 0; i < 4; i++) expect((await chat(hello)).headers.get('x-cache')).toBe('miss');
    expect((await call('GET', '/v1/incidents')).json()).toEqual({
      incidents: [expect.objectContaining({ id: 'inc-1', active: true })],
    });

    const cleared = await call('DELETE', '/v1/incidents/inc-1');
    expect(cleared.status).toBe(200);
    expect(cleared.json()).toMatchObject({ incident: { id: 'inc-1' } });
    // Each region's cache answers floor(n × 0.5) of its n requests again.
    const after: Array<{ region: string; cache: string }> = [];
    for (let i = 0; i < 8; i++) {
      const { headers } = await chat(hello);
      after.push({ region: headers.get('x-region')!, cache: headers.get('x-cache')! });
    }
    const perRegion = ['us-east-1', 'eu-west-1'].map((region) => after.filter((r) => r.region === region).length);
    expect(after.filter((r) => r.cache === 'hit')).toHaveLength(
      perRegion.reduce((hits, n) => hits + Math.floor(n * 0.5), 0),
    );
    expect(perRegion.reduce((hits, n) => hits + Math.floor(n * 0.5), 0)).toBeGreaterThanOrEqual(3);
    expect((await call('GET', '/v1/incidents')).json()).toEqual({ incidents: [] });
    const again = await call('DELETE', '/v1/incidents/inc-1');
    expect(again.status).toBe(404);
    expect(again.json().error).toMatchObject({
      code: 'incident_not_found',
      message: 'incident inc-1 does not exist; GET /v1/incidents lists them',
    });
  });

  test("a GPU saturation incident shows in the deployment's capacity", async () => {
    const created = await call('POST', '/v1/incidents', {
      body: { kind: 'gpu_saturation', deployment: 'llm-premium-eu-west-1', magnitude: 4 },
    });
    expect(created.status).toBe(201);
    model.tick(1);
    expect(model.deploymentStates().find((d) => d.name === 'llm-premium-eu-west-1')).toMatchObject({
      capacityRps: (7 * 8) / 4,
    });
  });

  test.each([
    [
      { kind: 'spend_spike', tenant: 'acme' },
      'magnitude',
      /^magnitude: Invalid input: expected number, received undefined\. Expected: the factor the matching traffic is multiplied by/,
    ],
    [{ kind: 'meteor', magnitude: 2 }, 'kind', /^kind: /],
    [
      { kind: 'cache_collapse', route: 'chat', magnitude: 2 },
      'magnitude',
      /^magnitude: Too big: expected number to be <=1\. Expected: the share of the cache hit ratio lost/,
    ],
    [{ kind: 'spend_spike', deployment: 'llm-premium-us-east-1', magnitude: 2 }, '', /Unrecognized key: "deployment"/],
    [
      { kind: 'gpu_saturation', magnitude: 2 },
      'deployment',
      /^deployment: Invalid input: expected string, received undefined/,
    ],
    [{ kind: 'spend_spike', tenant: 'Acme Corp', magnitude: 2 }, 'tenant', /^tenant: must be a lowercase name/],
    [
      { kind: 'context_blowup', route: 'chat', magnitude: 3, durationSeconds: -5 },
      'durationSeconds',
      /^durationSeconds: Too small/,
    ],
    [
      { kind: 'spend_spike', route: 'fraud', magnitude: 2 },
      'route',
      /^route: route fraud does not exist; known routes: chat, summarize$/,
    ],
    [
      { kind: 'gpu_saturation', deployment: 'llm-premium-ap-south-1', magnitude: 2 },
      'deployment',
      /^deployment: deployment llm-premium-ap-south-1 does not exist/,
    ],
  ])('%j is 422 with a field-level message', async (body, param, message) => {
    const response = await call('POST', '/v1/incidents', { body });
    expect(response.status).toBe(422);
    const { error } = response.json();
    expect(error).toMatchObject({ type: 'invalid_request_error', code: 'invalid_incident', param });
    expect(error.message).toMatch(message);
    expect(model.incidents()).toEqual([]);
  });
});
