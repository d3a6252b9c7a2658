// The weekly forecast review end to end, on a real Temporal dev server: a real Prometheus backfilled (promtool) with
// four weeks of known spend, requests and tokens; the gateway simulator's Control API holding the tenants' quotas;
// Slack's Web API at the wire server; reports under a temporary data folder. Every number asserted is worked out
// by hand from the series fed, in the comments beside it.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { openCapas } from '../../capa/capa-query';
import { configSchema, type Config } from '../../config/config-schema';
import { SlackNotifier } from '../../notify/slack/slack-notifier';
import { slackSettingsSchema } from '../../notify/slack/slack-settings';
import { PrometheusClient } from '../../prometheus/prometheus-client';
import { S3BucketObjects } from '../../reviews/bucket-objects';
import { createReviewActivities } from '../../reviews/review-activities';
import { runReviewNow } from '../../reviews/review-schedules';
import type { WeeklyReviewResult } from '../../reviews/review-workflows';
import { SIMULATOR_S3_CREDENTIALS } from '../../simulator/s3-lifecycle-api';
import { testS3 } from '../helpers/activities';
import { recordHistoryIfAsked } from '../helpers/histories';
import { startBackfilledPrometheus, type BackfilledPrometheus } from '../helpers/prometheus';
import { silentLogger, startSimulator, type RunningSimulator } from '../helpers/simulator';
import {
  SLACK_BOT_TOKEN,
  SLACK_SIGNING_SECRET,
  startSlackApiServer,
  type SlackApiServer,
} from '../helpers/slack-api-server';
import { pollingWorker, startTemporal } from '../helpers/temporal';

const DAY = 86_400;
const STEP = 300; // a sample every 5 minutes, on the minute: every window the review asks for starts and ends on one
const FROM = Date.UTC(2026, 1, 16) / 1000; // Monday 16 February 2026, 00:00 UTC: four whole weeks before the review
const AS_OF = new Date(Date.UTC(2026, 2, 16)); // Monday 16 March 2026, 00:00 UTC
const TASK_QUEUE = 'review-weekly-test';

/**
 * Spend per day of each tenant and route: the same every week (weekdays, weekends), except globex on search, which
 * spends $200 a day more in the week of 9 March. The platform so spends $1,000 a weekday and $400 a weekend day,
 * and $1,200 / $600 in that last week.
 */
const PAIRS = [
  { tenant: 'acme', route: 'chat', model: 'large', weekday: 600, weekend: 200, requests: 10_000, tokens: 20_000_000 },
  { tenant: 'globex', route: 'chat', model: 'small', weekday: 100, weekend: 100, requests: 2_000, tokens: 1_000_000 },
  {
    tenant: 'globex',
    route: 'search',
    model: 'small',
    weekday: 200,
    weekend: 50,
    requests: 5_000,
    tokens: 4_000_000,
    lastWeekExtra: 200,
  },
  {
    tenant: 'initech',
    route: 'embed',
    model: 'embed-v1',
    weekday: 100,
    weekend: 50,
    requests: 20_000,
    tokens: 2_000_000,
  },
] as const;

function dailyUsd(pair: (typeof PAIRS)[number], day: number): number {
  const weekday = new Date((FROM + day * DAY) * 1000).getUTCDay();
  const base = weekday === 0 || weekday === 6 ? pair.weekend : pair.weekday;
  return base + (day >= 21 && 'lastWeekExtra' in pair ? pair.lastWeekExtra : 0);
}

/** Counters growing at a constant rate within each UTC day, sampled every 5 minutes from FROM to AS_OF. */
function openMetrics(): string {
  const lines: string[] = [];
  const series = (name: string, labels: string, perDay: (day: number) => number) => {
    let total = 1_000; // not from zero: no extrapolation to a counter's start
    for (let t = FROM; t <= AS_OF.getTime() / 1000; t += STEP) {
      lines.push(`${name}{${labels}} ${total} ${t}`);
      total += (perDay(Math.floor((t - FROM) / DAY)) * STEP) / DAY;
    }
  };
  lines.push('# TYPE inference_cost_usd_total gauge');
  for (const p of PAIRS)
    series('inference_cost_usd_total', `tenant="${p.tenant}",route="${p.route}",model="${p.model}"`, (d) =>
      dailyUsd(p, d),
    );
  lines.push('# TYPE http_requests_total gauge');
  for (const p of PAIRS)
    series('http_requests_total', `tenant="${p.tenant}",route="${p.route}",code="200"`, () => p.requests);
  lines.push('# TYPE llm_tokens_total gauge');
  for (const p of PAIRS)
    series(
      'llm_tokens_total',
      `tenant="${p.tenant}",route="${p.route}",model="${p.model}",type="input"`,
      () => p.tokens,
    );
  return `${lines.join('\n')}\n# EOF\n`;
}

let workDir: string;
let prometheus: BackfilledPrometheus | undefined;
let prometheusUrl: string;
let env: TestWorkflowEnvironment;
let simulator: RunningSimulator;
let slack: SlackApiServer;
let worker: { shutdown(): void; running: Promise<void> } | undefined;
let config: Config;

beforeAll(async () => {
  workDir = mkdtempSync(join(tmpdir(), 'finops-soar-review-'));
  prometheus = await startBackfilledPrometheus(openMetrics(), {
    query: 'inference_cost_usd_total',
    at: AS_OF.getTime() / 1000,
    series: PAIRS.length,
  });
  prometheusUrl = prometheus.url;

  simulator = await startSimulator();
  const quota = (tenant: string, patch: Record<string, number | null>) =>
    simulator.client.patchTenantQuota(tenant, patch, { idempotencyKey: `review-test/${tenant}` });
  await quota('acme', { costPerDayUsd: 1_000, tokensPerDay: null, requestsPerSecond: null });
  await quota('globex', { costPerDayUsd: 380, tokensPerDay: null, requestsPerSecond: null });
  await quota('initech', { costPerDayUsd: null, tokensPerDay: 12_000_000_000, requestsPerSecond: 0.25 });

  slack = await startSlackApiServer();
  slack.addChannel({ id: 'C0FINOPS', name: 'finops' });
  env = await startTemporal();
  config = configSchema.parse({
    dataDir: join(workDir, 'data-dir'),
    temporal: { taskQueue: TASK_QUEUE },
    finops: { budgets: { platform: { monthlyUsd: 30_000 } }, reviews: { weekly: { top: 3 } } },
  });
  const activities = createReviewActivities({
    prometheus: new PrometheusClient({ baseUrl: prometheusUrl, timeoutMs: 10_000 }),
    budgets: config.finops.budgets,
    series: { requests: config.alerts.series.requests, tokens: config.alerts.series.tokens },
    gateway: simulator.client,
    client: env.client,
    openCapas,
    storage: testS3('http://127.0.0.1:9'),
    objects: new S3BucketObjects({
      region: 'us-east-1',
      endpoint: 'http://127.0.0.1:9',
      credentials: SIMULATOR_S3_CREDENTIALS,
    }),
    dataDir: config.dataDir,
    notifier: new SlackNotifier(
      slackSettingsSchema.parse({
        token: SLACK_BOT_TOKEN,
        signingSecret: SLACK_SIGNING_SECRET,
        apiUrl: slack.apiUrl,
        channels: { finops: 'C0FINOPS' },
        defaultChannel: 'C0FINOPS',
        timeout: '2s',
      }),
      silentLogger(),
    ),
  });
  // Polling before the first test: a review run by hand refuses a task queue no worker polls.
  worker = await pollingWorker(env, TASK_QUEUE, activities);
}, 120_000);

afterAll(async () => {
  worker?.shutdown();
  await worker?.running;
  await env?.teardown();
  await simulator?.close();
  await slack?.close();
  await prometheus?.stop();
  rmSync(workDir, { recursive: true, force: true });
});

let review: WeeklyReviewResult;

test('the review of budget platform as of Monday 16 March 2026, 00:00 UTC, run by hand through Temporal', async () => {
  const runs = await runReviewNow(env.client, config, { kind: 'weekly', budget: 'platform', now: AS_OF });
  expect(runs.map((run) => run.workflowId)).toEqual([
    'finops-soar/review/weekly/platform/manual/2026-03-16T00:00:00.000Z',
  ]);
  review = runs[0]!.results[0] as WeeklyReviewResult;
  recordHistoryIfAsked(env.address, env.client.workflow.getHandle(runs[0]!.workflowId), 'weekly-review');
  const f = review.figures;
  expect(f.asOf).toBe('2026-03-16T00:00:00.000Z');
  expect(f.weekStart).toBe('2026-03-09T00:00:00.000Z');
  // March so far: Sunday 1st $400; the week of the 2nd 5 × $1,000 + 2 × $400 = $5,800; the week of the 9th $7,200.
  expect(f.spentUsd).toBe(13_400);
  // The forecast (finops/forecast.ts) over the last three weeks: the week-over-week changes are fourteen 0s and seven
  // $200/7, so the trend is their median, 0; each day to come is the median of its weekday in those weeks, the
  // ordinary week's. The 16 days left (16th to 31st) are two ordinary weeks ($5,800 each) and a Monday and Tuesday
  // ($2,000): 13,400 + 13,600 = $27,000. Each day of the three weeks predicted from the other two misses by -100,
  // -100 and +200 (weeks 1, 2, 3): σ = √((14 × 100² + 7 × 200²) / 21) = √20,000 = 141.42; the interval is ± 2σ × 16
  // days = ± 4,525.48.
  expect(f.forecast).toEqual({ expectedUsd: 27_000, lowUsd: 22_474.52, highUsd: 31_525.48 });
  // Burn: Sunday the 15th $600; the last 7 days $7,200 / 7; the month $13,400 / 15 days.
  expect(f.burn).toEqual({ lastDayUsd: 600, lastWeekPerDayUsd: 1_028.57, monthToDatePerDayUsd: 893.33 });
  expect(f.daysInMonth).toBe(31);
  expect(f.daily.map((d) => d.usd)).toEqual([
    400, 1000, 1000, 1000, 1000, 1000, 400, 400, 1200, 1200, 1200, 1200, 1200, 600, 600,
  ]);
  expect(f.daily[0]).toEqual({ day: '2026-03-01', usd: 400 });
  // This week: acme 5 × 600 + 2 × 200 = 3,400 (as last week); globex chat 700 + search 5 × 400 + 2 × 250 = 2,500 ->
  // 3,200 (last week 700 + 1,100); initech 5 × 100 + 2 × 50 = 600.
  expect(f.topTenants).toEqual([
    { tenant: 'acme', usd: 3_400, previousUsd: 3_400 },
    { tenant: 'globex', usd: 3_200, previousUsd: 1_800 },
    { tenant: 'initech', usd: 600, previousUsd: 600 },
  ]);
  expect(f.topRoutes).toEqual([
    { route: 'chat', usd: 4_100, previousUsd: 4_100 },
    { route: 'search', usd: 2_500, previousUsd: 1_100 },
    { route: 'embed', usd: 600, previousUsd: 600 },
  ]);
  expect(f.movers).toEqual([{ tenant: 'globex', route: 'search', usd: 2_500, previousUsd: 1_100 }]);
  // Per 1k requests: 1000 × the week's dollars / its requests (7 × the daily requests); tokens per request likewise.
  expect(f.unitCosts).toEqual([
    { tenant: 'acme', route: 'chat', usdPer1kRequests: 48.5714, tokensPerRequest: 2_000 }, // 3,400 / 70
    { tenant: 'globex', route: 'chat', usdPer1kRequests: 50, tokensPerRequest: 500 }, // 700 / 14
    { tenant: 'globex', route: 'search', usdPer1kRequests: 71.4286, tokensPerRequest: 800 }, // 2,500 / 35
    { tenant: 'initech', route: 'embed', usdPer1kRequests: 4.2857, tokensPerRequest: 100 }, // 600 / 140
  ]);
  expect(f.modelUnitCosts).toEqual([
    { tenant: 'acme', route: 'chat', model: 'large', usdPer1kTokens: 0.024286 }, // 3,400 / 140M × 1000
    { tenant: 'globex', route: 'chat', model: 'small', usdPer1kTokens: 0.1 }, // 700 / 7M
    { tenant: 'globex', route: 'search', model: 'small', usdPer1kTokens: 0.089286 }, // 2,500 / 28M
    { tenant: 'initech', route: 'embed', model: 'embed-v1', usdPer1kTokens: 0.042857 }, // 600 / 14M
  ]);
  // Quotas over the 7 whole UTC days before the review (9th to 15th).
  expect(f.quotas).toEqual([
    // acme's weekdays reach 60% of $1,000: nothing to change.
    {
      tenant: 'acme',
      field: 'costPerDayUsd',
      limit: 1_000,
      daily: [600, 600, 600, 600, 600, 200, 200],
      peakShare: 0.6,
      suggestion: null,
    },
    // globex spends $500 a weekday and $350 a weekend day against $380: at 90% or more every day. Raise it so the
    // peak is 70% of it: 500 / 0.7 = 714.3, up to two figures: $720.
    {
      tenant: 'globex',
      field: 'costPerDayUsd',
      limit: 380,
      daily: [500, 500, 500, 500, 500, 350, 350],
      peakShare: 1.3158,
      suggestion: { kind: 'raise', to: 720, why: 'at 90% or more of it on each of the 7 days' },
    },
    // initech uses 2M tokens a day of 12 billion: lower it to twice the peak, 4M.
    {
      tenant: 'initech',
      field: 'tokensPerDay',
      limit: 12_000_000_000,
      daily: Array(7).fill(2_000_000),
      peakShare: 0.0002,
      suggestion: { kind: 'lower', to: 4_000_000, why: 'never above 25% of it in 7 days (peak 0%)' },
    },
    // 20,000 requests a day is 0.2315 a second, 93% of 0.25 every day: raise it to 0.2315 / 0.7 = 0.331 -> 0.34.
    {
      tenant: 'initech',
      field: 'requestsPerSecond',
      limit: 0.25,
      daily: Array(7).fill(0.2315),
      peakShare: 0.926,
      suggestion: { kind: 'raise', to: 0.34, why: 'at 90% or more of it on each of the 7 days' },
    },
  ]);
  // No playbook ran in that week, and this namespace has no CAPA open.
  expect(f.runs).toEqual({ ended: 0, running: 0, savedUsd: 0, addedUsd: 0, byPlaybook: [] });
  expect(f.capas).toEqual([]);
  expect(f.problems).toEqual([]);
  expect(review.posted).toBe(true);
}, 60_000);

test('kept as Markdown and an SVG chart under dataDir/reviews/weekly/<budget>/<date>', () => {
  const dir = join(config.dataDir, 'reviews', 'weekly', 'platform');
  expect(review.report.markdownPath).toBe(join(dir, '2026-03-16.md'));
  expect(review.report.chartPath).toBe(join(dir, '2026-03-16.svg'));
  const markdown = readFileSync(review.report.markdownPath, 'utf8');
  expect(markdown).toBe(review.report.markdown);
  expect(markdown).toContain('# Weekly forecast review: platform, 2026-03-16\n');
  expect(markdown).toContain('![Daily spend, and the month-end forecast against the budget](2026-03-16.svg)');
  expect(markdown).toContain(
    '- Month-end forecast $27,000.00, between $22,474.52 and $31,525.48: over the budget by up to $1,525.48\n',
  );
  expect(markdown).toContain('- globex on search: $1,100.00 → $2,500.00, +$1,400.00 (+127%)\n');
  expect(markdown).toContain(
    '- globex costPerDayUsd $380.00/day: peak 132% of it; at 90% or more of it on each of the 7 days: raise it to $720.00/day\n',
  );
  expect(markdown).toContain('| 2026-03-09 | $1,200.00 |');

  const svg = readFileSync(review.report.chartPath!, 'utf8');
  expect(wellFormedXml(svg)).toEqual([]);
  const bars = [...svg.matchAll(/<rect class="day" data-day="([^"]+)" data-usd="([^"]+)"/g)].map(([, day, usd]) => [
    day,
    Number(usd),
  ]);
  expect(bars).toHaveLength(15);
  expect(bars[0]).toEqual(['2026-03-01', 400]);
  expect(bars[8]).toEqual(['2026-03-09', 1200]);
  expect(svg).toContain('class="forecast-interval" data-low="22474.52" data-high="31525.48"');
  expect(svg).toContain('class="budget" data-usd="30000.00"');
  expect(existsSync(`${review.report.markdownPath}.partial`)).toBe(false);
});

test('posted to #finops as Block Kit, exactly', () => {
  const [call, ...others] = slack.callsTo('chat.postMessage');
  expect(others).toEqual([]);
  const files = `\`${review.report.markdownPath}\`, \`${review.report.chartPath}\``;
  expect(call!.body).toEqual({
    channel: 'C0FINOPS',
    text: 'Weekly forecast review: platform, 2026-03-16: $13,400.00 spent of $30,000.00; month-end forecast $27,000.00 (up to $31,525.48). Top tenant acme ($3,400.00 this week). 3 quota changes suggested.',
    unfurl_links: 'false',
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: 'Weekly forecast review: platform, 2026-03-16' } },
      {
        type: 'section',
        text: {
          type: 'mrkdwn',
          text: '$13,400.00 spent of $30,000.00; month-end forecast $27,000.00 (up to $31,525.48). Top tenant acme ($3,400.00 this week). 3 quota changes suggested.',
        },
      },
      section(
        '*Budget*',
        '• Spent $13,400.00 of $30,000.00 in 2026-03 (45%)',
        '• Month-end forecast $27,000.00, between $22,474.52 and $31,525.48: over the budget by up to $1,525.48',
        '• Burn: $600.00 over the last day, $1,028.57/day over the last 7 days, $893.33/day this month',
      ),
      section(
        '*Top tenants this week*',
        '• acme: $3,400.00, +$0.00 (+0%) on last week',
        '• globex: $3,200.00, +$1,400.00 (+78%) on last week',
        '• initech: $600.00, +$0.00 (+0%) on last week',
      ),
      section(
        '*Top routes this week*',
        '• chat: $4,100.00, +$0.00 (+0%) on last week',
        '• search: $2,500.00, +$1,400.00 (+127%) on last week',
        '• embed: $600.00, +$0.00 (+0%) on last week',
      ),
      section('*Changed most week over week*', '• globex on search: $1,100.00 → $2,500.00, +$1,400.00 (+127%)'),
      section(
        '*Unit costs over the week*',
        '• acme on chat: $48.5714 per 1k requests, 2,000 tokens/request',
        '• globex on chat: $50.00 per 1k requests, 500 tokens/request',
        '• globex on search: $71.4286 per 1k requests, 800 tokens/request',
        '• initech on embed: $4.2857 per 1k requests, 100 tokens/request',
        '• acme on chat with large: $0.0243 per 1k tokens',
        '• globex on chat with small: $0.10 per 1k tokens',
        '• globex on search with small: $0.0893 per 1k tokens',
        '• initech on embed with embed-v1: $0.0429 per 1k tokens',
      ),
      section('*Playbook runs this week*', '• 0 runs ended this week, 0 still running; saved $0.00, added $0.00'),
      section(
        '*Quotas*',
        '• globex costPerDayUsd $380.00/day: peak 132% of it; at 90% or more of it on each of the 7 days: raise it to $720.00/day',
        '• initech requestsPerSecond 0.25 requests/s: peak 93% of it; at 90% or more of it on each of the 7 days: raise it to 0.34 requests/s',
        '• initech tokensPerDay 12,000,000,000 tokens/day: peak 0% of it; never above 25% of it in 7 days (peak 0%): lower it to 4,000,000 tokens/day',
        '• acme costPerDayUsd $1,000.00/day: peak 60% of it',
      ),
      section('*Open CAPAs*', '• none open'),
      { type: 'context', elements: [{ type: 'mrkdwn', text: `The full report: ${files}` }] },
    ],
  });
});

test('at 00:00 UTC on the 1st, the budget part closes the month just ended; the week is the week before', async () => {
  const runs = await runReviewNow(env.client, config, {
    kind: 'weekly',
    budget: 'platform',
    now: new Date(Date.UTC(2026, 2, 1)),
  });
  const f = (runs[0]!.results[0] as WeeklyReviewResult).figures;
  expect(f.asOf).toBe('2026-03-01T00:00:00.000Z');
  expect(f.month).toBe('2026-02');
  // February's whole days with data, to the 27th: the series begin on the 16th.
  expect(f.daily.map((d) => d.day)).toEqual(Array.from({ length: 12 }, (_, i) => `2026-02-${16 + i}`));
  expect(f.daily.map((d) => d.usd)).toEqual([1000, 1000, 1000, 1000, 1000, 400, 400, 1000, 1000, 1000, 1000, 1000]);
  // The week of 22 February to 1 March is an ordinary one: acme 5 × 600 + 2 × 200.
  expect(f.topTenants[0]).toMatchObject({ tenant: 'acme', usd: 3_400 });
}, 60_000);

const section = (...lines: string[]) => ({ type: 'section', text: { type: 'mrkdwn', text: lines.join('\n') } });

/** Problems that make `xml` not well-formed XML: tags that do not nest, unquoted attributes, stray < or &. */
function wellFormedXml(xml: string): string[] {
  const problems: string[] = [];
  const open: string[] = [];
  const token = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>|<|&(?!(?:lt|gt|amp|quot|apos|#\d+);)/g;
  for (const match of xml.matchAll(token)) {
    const [whole, closing, name, , selfClosing] = match;
    if (!name) {
      problems.push(`stray ${whole} at ${match.index}`);
      continue;
    }
    if (closing) {
      if (open.pop() !== name) problems.push(`</${name}> closes nothing open at ${match.index}`);
    } else if (!selfClosing) open.push(name);
  }
  if (open.length > 0) problems.push(`not closed: ${open.join(', ')}`);
  if (!xml.startsWith('<svg ')) problems.push('the root is not <svg>');
  return problems;
}
