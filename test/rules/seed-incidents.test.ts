// The seed's incidents against the rules finops-soar.yaml renders (alert-rules/), with promtool: each alert fires on
// its incident at the seed's default threshold with the labels the engine routes on, and stays silent on two weeks
// of the daily curve with jitter, on a blip shorter than its `for:`, and on a young series. The series are written
// out here (test/rules/series.ts); the hand-written ones of deploy/prometheus/tests are checked beside them.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { renderAlertRules } from '../../alert-rules/render-alert-rules';
import { loadConfig } from '../../config/config-load';
import { at, counter, dailyCurve, DAY, during, gauge, HOUR, jitter, MINUTE, type Timeline } from './series';

const ROOT = resolve(__dirname, '../..');
const GROUPS = ['finops-soar-rates', 'finops-soar-baselines', 'finops-soar-alerts'];

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'finops-soar-seed-incidents-'));
  const { alerts } = loadConfig({ file: join(ROOT, 'finops-soar.yaml'), env: {} });
  writeFileSync(join(dir, 'rules.yml'), renderAlertRules(alerts));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Firing {
  labels: Record<string, string>;
}
/** Which alerts of `alertname` fire at `time`: each as its ALERTS series (labels), or none. */
const firing = (alertname: string, time: number, alerts: Firing[], matchers = '') => ({
  expr: `ALERTS{alertname="${alertname}", alertstate="firing"${matchers ? `, ${matchers}` : ''}}`,
  eval_time: at(time),
  exp_samples: alerts.map(({ labels }) => ({
    labels: `ALERTS{${Object.entries({ alertname, alertstate: 'firing', ...labels })
      .map(([key, value]) => `${key}="${value}"`)
      .join(',')}}`,
    value: 1,
  })),
});

function promtool(name: string, timeline: Timeline, inputSeries: Array<[string, string]>, tests: object[]) {
  const suite = {
    rule_files: ['rules.yml'],
    evaluation_interval: at(timeline.step),
    group_eval_order: GROUPS,
    tests: [
      {
        interval: at(timeline.step),
        input_series: inputSeries.map(([series, values]) => ({ series, values })),
        promql_expr_test: tests,
      },
    ],
  };
  writeFileSync(join(dir, `${name}.test.yml`), JSON.stringify(suite));
  const result = spawnSync('promtool', ['test', 'rules', `${name}.test.yml`], { cwd: dir, encoding: 'utf8' });
  if (result.error)
    throw new Error(`promtool: ${result.error.message} (apt-get install prometheus; bash .ci/run does it)`);
  return `${result.stdout}${result.stderr}`;
}

const SCRAPE = 'job="simulator",instance="simulator:8090"';

describe('LLMSpendBurnRateHigh: 2x the 14-day average (S2), 4x (S1)', () => {
  // 15 days and 20 hours, every 5 minutes.
  const timeline = { step: 5 * MINUTE, until: 15 * DAY + 20 * HOUR };
  const incident = 15 * DAY + 13 * HOUR;
  const spend = (tenant: string, route: string, rate: (t: number) => number, from = 0): [string, string] => [
    `inference_cost_usd_total{env="prod",${SCRAPE},model="llama-3.1-405b-instruct",region="us-east-1",tenant="${tenant}",route="${route}"}`,
    counter(timeline, rate, from),
  ];
  const normal = (mean: number, seed: number) => {
    const noise = jitter(seed);
    return (t: number) => mean * dailyCurve(t) * noise(0.1);
  };
  const series = [
    // The seed's incident: 3x the 14-day average for two hours.
    spend(
      'acme',
      'chat',
      during(incident, 2 * HOUR, () => 0.6, normal(0.2, 1)),
    ),
    // 5x for an hour: S1 as well.
    spend(
      'globex',
      'summarize',
      during(incident, HOUR, () => 0.5, normal(0.1, 2)),
    ),
    // A blip: 5x for 20 minutes, shorter than the S2 rule's 30 minutes.
    spend(
      'umbrella',
      'chat',
      during(incident, 20 * MINUTE, () => 0.5, normal(0.1, 3)),
    ),
    // Two weeks and more of the daily curve with 10 % jitter, afternoons at 1.5x.
    spend('globex', 'chat', normal(0.1, 4)),
    // Two days old: no 14-day baseline, however fast it spends.
    spend('initech', 'chat', () => 0.5, 13 * DAY + 20 * HOUR),
  ];
  const s2 = (tenant: string, route: string) => ({ labels: { env: 'prod', route, severity: 'S2', tenant } });
  const s1 = (tenant: string, route: string) => ({ labels: { env: 'prod', route, severity: 'S1', tenant } });

  test('fires on 3x for two hours (S2), 5x for an hour (S1 too), and on nothing else', () => {
    const hours = Array.from({ length: 24 }, (_, hour) => 15 * DAY + hour * HOUR + 30 * MINUTE);
    const tests = [
      // Every half past on day 15 before the incidents, and the afternoon of day 14: silent.
      ...hours.slice(0, 13).map((time) => firing('LLMSpendBurnRateHigh', time, [])),
      firing('LLMSpendBurnRateHigh', 14 * DAY + 15 * HOUR, []),
      // 50 minutes in: acme and globex above 2x for 40 minutes (S2 fired at 30), globex above 4x for 40 (S1).
      firing('LLMSpendBurnRateHigh', incident + 50 * MINUTE, [
        s1('globex', 'summarize'),
        s2('acme', 'chat'),
        s2('globex', 'summarize'),
      ]),
      // 1h40m in: globex's hour is over, acme's two hours go on.
      firing('LLMSpendBurnRateHigh', incident + 100 * MINUTE, [s2('acme', 'chat')]),
      // Never: the blip, the curve, the young series.
      ...[20, 35, 45, 60].map((minutes) =>
        firing('LLMSpendBurnRateHigh', incident + minutes * MINUTE, [], 'tenant=~"umbrella|initech"'),
      ),
      ...hours.map((time) => firing('LLMSpendBurnRateHigh', time, [], 'tenant="globex", route="chat"')),
    ];
    expect(promtool('spend', timeline, series, tests)).toContain('SUCCESS');
  });
});

describe('LLMInputTokensPerRequestHigh: 1.5x the route’s tokens-per-request baseline', () => {
  // Fifteen days, every 5 minutes (the derived baseline needs a week).
  const timeline = { step: 5 * MINUTE, until: 15 * DAY };
  const incident = 14 * DAY + 13 * HOUR;
  const labels = (tenant: string, route: string) => `env="prod",${SCRAPE},tenant="${tenant}",route="${route}"`;
  /** A tenant's requests (the daily curve) and input tokens (`perRequest(t)` each, 5 % jitter). */
  const traffic = (
    tenant: string,
    route: string,
    perRequest: (t: number) => number,
    seed: number,
    from = 0,
  ): Array<[string, string]> => {
    const noise = jitter(seed);
    const requests = (t: number) => 2 * dailyCurve(t);
    return [
      [`http_requests_total{${labels(tenant, route)},code="200"}`, counter(timeline, requests, from)],
      [
        `llm_tokens_total{${labels(tenant, route)},type="input"}`,
        counter(timeline, (t) => requests(t) * perRequest(t) * noise(0.05), from),
      ],
    ];
  };
  const usual = (tokens: number) => () => tokens;
  const series: Array<[string, string]> = [
    // The platform's own baseline for chat (the seed's meaning: input tokens per request, per route).
    [`llm_tokens_baseline{env="prod",${SCRAPE},route="chat"}`, gauge(timeline, () => 1200)],
    // The seed's incident: 2x the baseline for 40 minutes.
    ...traffic('acme', 'chat', during(incident, 40 * MINUTE, usual(2400), usual(1200)), 1),
    // A blip: 2x for 10 minutes.
    ...traffic('umbrella', 'chat', during(incident, 10 * MINUTE, usual(2400), usual(1200)), 2),
    // Normal: the daily curve of requests, each of the usual size.
    ...traffic('globex', 'chat', usual(1200), 3),
    // New on the route 20 minutes before the incident, with big prompts from the start.
    ...traffic('initech', 'chat', usual(2400), 4, incident - 20 * MINUTE),
    // No exported baseline for summarize: the 7-day average (800) stands in; 2x for an hour.
    ...traffic('acme', 'summarize', during(incident, HOUR, usual(1600), usual(800)), 5),
  ];
  const s2 = (tenant: string, route: string) => ({ labels: { env: 'prod', route, severity: 'S2', tenant } });

  test('fires on 2x for 40 minutes, with the exported baseline or the derived one, and on nothing else', () => {
    const tests = [
      // Every three hours of the two weeks before: silent.
      ...Array.from({ length: 14 * 8 + 4 }, (_, index) =>
        firing('LLMInputTokensPerRequestHigh', index * 3 * HOUR + 30 * MINUTE, []),
      ),
      ...[15, 18, 21].map((hour) =>
        firing('LLMInputTokensPerRequestHigh', 14 * DAY + hour * HOUR, [], 'tenant="globex"'),
      ),
      // The platform's baseline for chat; the 7-day average (800 a request, give or take the jitter) for summarize.
      {
        expr: 'round(route:llm_input_tokens_per_request:baseline, 10)',
        eval_time: at(incident + 30 * MINUTE),
        exp_samples: [
          { labels: '{env="prod",route="chat"}', value: 1200 },
          { labels: '{env="prod",route="summarize"}', value: 800 },
        ],
      },
      // 30 minutes in: above 1.5x for 20 minutes (the 10-minute rate crossed in its first 5), past the 15 of `for:`.
      firing('LLMInputTokensPerRequestHigh', incident + 30 * MINUTE, [s2('acme', 'chat'), s2('acme', 'summarize')]),
      // The blip never; the newcomer not in its first hour.
      ...[15, 25, 35].map((minutes) =>
        firing('LLMInputTokensPerRequestHigh', incident + minutes * MINUTE, [], 'tenant=~"umbrella|initech"'),
      ),
      // An hour after acme/chat's 40 minutes: resolved.
      firing('LLMInputTokensPerRequestHigh', incident + 100 * MINUTE, [], 'tenant="acme", route="chat"'),
    ];
    expect(promtool('tokens', timeline, series, tests)).toContain('SUCCESS');
  });
});

describe('GPUSaturatedQueueGrowing: 90 % or more with a queue that keeps growing', () => {
  // Two weeks and five hours, every minute; the GPUs follow the daily curve (33 % at night, 83 % in the afternoon).
  const timeline = { step: MINUTE, until: 14 * DAY + 5 * HOUR };
  const incident = 14 * DAY + 2 * HOUR;
  const deployment = (name: string) =>
    `env="prod",${SCRAPE},namespace="inference",deployment="${name}",model="llama-3.1-70b-instruct",region="us-east-1"`;
  const gpu = (
    name: string,
    utilization: (t: number) => number,
    queue: (t: number) => number,
    seed: number,
    from = 0,
  ) => {
    const noise = jitter(seed);
    return [
      [`gpu_utilization{${deployment(name)}}`, gauge(timeline, (t) => Math.min(1, utilization(t) * noise(0.02)), from)],
      [
        `inference_queue_depth{${deployment(name)}}`,
        gauge(timeline, (t) => Math.max(0, Math.round(queue(t) * noise(0.2))), from),
      ],
    ] as Array<[string, string]>;
  };
  const busy = (t: number) => 0.55 * dailyCurve(t);
  const saturated = () => 0.95;
  const steady = (depth: number) => () => depth;
  // The seed's incident: the queue grows steadily from 5 to 100 over an hour (about 1.6 a minute).
  const growing = (t: number) => 5 + (95 * (t - incident)) / HOUR;
  const series = [
    ...gpu('chat-a', during(incident, HOUR, saturated, busy), during(incident, HOUR, growing, steady(5)), 1),
    // Saturated for two hours with a steady queue: busy, not an incident.
    ...gpu('chat-b', during(incident, 2 * HOUR, saturated, busy), steady(20), 2),
    // A growing queue on GPUs with room to spare.
    ...gpu('chat-c', busy, during(incident, HOUR, growing, steady(5)), 3),
    // Saturated with the queue growing for 8 minutes: a blip.
    ...gpu(
      'chat-d',
      during(incident, 8 * MINUTE, saturated, busy),
      during(incident, 8 * MINUTE, growing, steady(5)),
      4,
    ),
    // A deployment that appears saturated with a growing queue: too young to tell.
    ...gpu('chat-e', saturated, (t) => 5 + (95 * (t - incident)) / HOUR, 5, incident),
  ];
  const alert = (severity: string) => ({
    labels: {
      deployment: 'chat-a',
      env: 'prod',
      instance: 'simulator:8090',
      job: 'simulator',
      model: 'llama-3.1-70b-instruct',
      namespace: 'inference',
      region: 'us-east-1',
      severity,
    },
  });

  test('fires on an hour of saturation with the queue growing 1.6 a minute (S2, then S1), and on nothing else', () => {
    const tests = [
      // Every hour of the two weeks before: silent.
      ...Array.from({ length: 14 * 24 + 1 }, (_, hour) =>
        firing('GPUSaturatedQueueGrowing', hour * HOUR + 30 * MINUTE, []),
      ),
      // 10 minutes of window, then 5 of `for:`.
      firing('GPUSaturatedQueueGrowing', incident + 20 * MINUTE, [alert('S2')], 'deployment="chat-a"'),
      // 30 minutes of window, then 5 of `for:`.
      firing('GPUSaturatedQueueGrowing', incident + 40 * MINUTE, [alert('S1'), alert('S2')], 'deployment="chat-a"'),
      ...[9, 20, 40, 90].map((minutes) =>
        firing('GPUSaturatedQueueGrowing', incident + minutes * MINUTE, [], 'deployment=~"chat-[bcd]"'),
      ),
      // The young deployment: not before a whole window of samples (then 5 minutes of `for:`).
      ...[6, 9, 12].map((minutes) =>
        firing('GPUSaturatedQueueGrowing', incident + minutes * MINUTE, [], 'deployment="chat-e"'),
      ),
      // Half an hour after chat-a's hour: resolved.
      firing('GPUSaturatedQueueGrowing', incident + 90 * MINUTE, [], 'deployment="chat-a"'),
    ];
    expect(promtool('gpu', timeline, series, tests)).toContain('SUCCESS');
  });
});

describe('LLMCacheHitRatioLow (S2, half the usual) and LLMCacheSavingsOpportunity (S3, under 30 % for an hour)', () => {
  // Two weeks and 20 hours, every 5 minutes (the usual ratio is the previous day's).
  const timeline = { step: 5 * MINUTE, until: 14 * DAY + 20 * HOUR };
  const incident = 14 * DAY + 13 * HOUR;
  const labels = (tenant: string, route: string) => `env="prod",${SCRAPE},tenant="${tenant}",route="${route}"`;
  const route = (tenant: string, name: string, ratio: (t: number) => number, rps: number, seed: number, from = 0) => {
    const noise = jitter(seed);
    return [
      [
        `llm_cache_hit_ratio{${labels(tenant, name)}}`,
        gauge(timeline, (t) => Math.min(1, ratio(t) * noise(0.05)), from),
      ],
      [`http_requests_total{${labels(tenant, name)},code="200"}`, counter(timeline, (t) => rps * dailyCurve(t), from)],
    ] as Array<[string, string]>;
  };
  const series = [
    // The usual 60 %, then a cache flush: 20 % from the incident on.
    ...route(
      'acme',
      'chat',
      during(
        incident,
        7 * HOUR,
        () => 0.2,
        () => 0.6,
      ),
      2,
      1,
    ),
    // A route that never caches much: 25 % with real traffic (S3), no drop (S2 silent).
    ...route('globex', 'chat', () => 0.25, 2, 2),
    // As poor, but a trickle of traffic: nothing to save.
    ...route('umbrella', 'chat', () => 0.1, 0.01, 3),
    // Normal: 60 %.
    ...route('initech', 'chat', () => 0.6, 2, 4),
    // New 30 minutes before the check, caching 10 %: not an hour of evidence yet.
    ...route('hooli', 'chat', () => 0.1, 2, 5, incident - 30 * MINUTE),
  ];
  const alert = (tenant: string, severity: string) => ({ labels: { env: 'prod', route: 'chat', severity, tenant } });

  test('the drop fires for acme, the opportunity for the routes under 30 % with traffic for an hour', () => {
    const tests = [
      // Every three hours of the two weeks before the flush: no drop anywhere.
      ...Array.from({ length: 14 * 8 + 4 }, (_, index) =>
        firing('LLMCacheHitRatioLow', index * 3 * HOUR + 30 * MINUTE, []),
      ),
      // Before the flush: globex's poor cache is an opportunity; nothing else.
      firing('LLMCacheHitRatioLow', incident - HOUR, []),
      firing('LLMCacheSavingsOpportunity', incident - HOUR, [alert('globex', 'S3')]),
      // 20 minutes after the flush: the drop has held for 15 minutes (S2). The hour's average is not under 30 % yet.
      firing('LLMCacheHitRatioLow', incident + 20 * MINUTE, [alert('acme', 'S2')]),
      firing('LLMCacheSavingsOpportunity', incident + 20 * MINUTE, [alert('globex', 'S3')]),
      // Two hours after: acme's last hour is under 30 % as well; hooli is 2.5 hours old now and as poor.
      firing('LLMCacheSavingsOpportunity', incident + 2 * HOUR, [
        alert('acme', 'S3'),
        alert('globex', 'S3'),
        alert('hooli', 'S3'),
      ]),
      // Never: the trickle; not yet: the newcomer.
      firing('LLMCacheSavingsOpportunity', incident, [], 'tenant=~"umbrella|hooli"'),
      firing('LLMCacheHitRatioLow', incident + 2 * HOUR, [], 'tenant!="acme"'),
    ];
    expect(promtool('cache', timeline, series, tests)).toContain('SUCCESS');
  });
});
