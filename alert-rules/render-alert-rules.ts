// deploy/prometheus/rules/finops-soar.rules.yml, rendered from config `alerts` (alert-rules-schema.ts): the alerts
// that start the playbooks (they route on alertname and severity) with the labels the engine's targets need (route
// alerts: env, tenant, route; deployment alerts: env, namespace, deployment). Pure: `finops-soar rules` writes it,
// and a test keeps the committed file equal to what finops-soar.yaml renders.
//
// Every series is aggregated `by` the labels it keeps, so the scrape's own labels (instance, job) never get in the
// way of matching two metrics. Route alerts keep env, tenant and route, not model: the playbooks switch a route's
// model tier, and an alert split by model would see the cheaper model as a new, young series and the old one
// vanish, restarting `for:` and resolving mid-run.
import { Document } from 'yaml';
import { DEPLOYMENT_LABELS, ROUTE_LABELS, type AlertOverride, type AlertRulesConfig } from './alert-rules-schema';

type Rule = Record<string, unknown>;
type Kind = 'spendBurnRate' | 'inputTokensPerRequest' | 'gpuSaturation';

const ROUTE = ROUTE_LABELS.join(', ');
const DEPLOYMENT = DEPLOYMENT_LABELS.join(', ');

/** `series` with `matchers` added to its own (PromQL label matchers, without braces). */
export function withMatchers(series: string, matchers: string): string {
  if (!matchers) return series;
  const open = series.indexOf('{');
  return open < 0 ? `${series}{${matchers}}` : `${series.slice(0, -1)}, ${matchers}}`;
}

const sortedLabels = (match: Record<string, string>) => Object.entries(match).sort(([a], [b]) => (a < b ? -1 : 1));
const matchersOf = (match: Record<string, string>) =>
  sortedLabels(match)
    .map(([label, value]) => `${label}=${JSON.stringify(value)}`)
    .join(', ');

/**
 * One rule per override of `kind` at `level` (its own matchers, minus those of earlier overrides) and the default
 * rule minus every override: the first override that matches a series decides its threshold.
 */
function perOverride<Level extends { for: string }>(
  config: AlertRulesConfig,
  kind: Kind,
  level: 'S1' | 'S2',
  defaults: Level,
  render: (level: Level, matchers: string) => string,
  /** The series whose labels say whether an override applies, and the labels to match on. */
  scope: { series: string; on: string },
  alert: { name: string; annotations: (level: Level, override?: AlertOverride) => Record<string, string> },
): Rule[] {
  const overrides = config.overrides.filter((override) => override[kind]?.[level] !== undefined);
  const except = (earlier: AlertOverride[]) =>
    earlier.map((o) => `\n  unless on (${scope.on}) ${withMatchers(scope.series, matchersOf(o.match))}`).join('');
  const rule = (expr: string, merged: Level, override?: AlertOverride): Rule => ({
    alert: alert.name,
    expr,
    for: merged.for,
    labels: { severity: level, ...thresholdsLabel(override) },
    annotations: alert.annotations(merged, override),
  });
  return [
    ...overrides.map((override, index) => {
      const merged = { ...defaults, ...override[kind]![level] } as Level;
      return rule(
        `${render(merged, matchersOf(override.match))}${except(overrides.slice(0, index))}`,
        merged,
        override,
      );
    }),
    rule(`${render(defaults, '')}${except(overrides)}`, defaults),
  ];
}

/** An override's rule says whose thresholds it holds: two rules of one alert and severity must differ by a label. */
const thresholdsLabel = (override?: AlertOverride) =>
  override
    ? {
        thresholds: sortedLabels(override.match)
          .map(([label, value]) => `${label}=${value}`)
          .join(','),
      }
    : {};

const overrideNote = (override?: AlertOverride) =>
  override ? ` (the threshold for ${matchersOf(override.match)}, from alerts.overrides)` : '';

function recordingRules({ series }: AlertRulesConfig): Rule[] {
  return [
    { record: 'tenant_route:inference_cost_usd:rate10m', expr: `sum by (${ROUTE}) (rate(${series.cost}[10m]))` },
    {
      record: 'tenant_route:llm_input_tokens:rate10m',
      expr: `sum by (${ROUTE}) (rate(${series.inputTokens}[10m]))`,
    },
    {
      record: 'tenant_route:llm_requests_served:rate10m',
      expr: `sum by (${ROUTE}) (rate(${series.requests}[10m]))`,
    },
    {
      record: 'tenant_route:llm_input_tokens_per_request:ratio_rate10m',
      expr: 'tenant_route:llm_input_tokens:rate10m / tenant_route:llm_requests_served:rate10m',
    },
    {
      record: 'tenant_route:llm_cache_hit_ratio:avg1h',
      expr: `avg by (${ROUTE}) (avg_over_time(${series.cacheHitRatio}[1h]))`,
    },
  ];
}

/**
 * Unit costs (seed §3.1) over the last hour, for the executive dashboard and the reviews: dollars per 1k requests
 * served and per 1k tokens, and tokens per request. Per model only per 1k tokens: the seed's request counter carries
 * no model label.
 */
function unitCostRules({ series }: AlertRulesConfig): Rule[] {
  const rate = (selector: string, by: string) => `sum by (${by}) (rate(${selector}[1h]))`;
  const MODEL = `${ROUTE}, model`;
  return [
    {
      record: 'tenant_route:inference_cost_usd_per_1k_requests:ratio_rate1h',
      expr: `1000 * ${rate(series.cost, ROUTE)} / ${rate(series.requests, ROUTE)}`,
    },
    {
      record: 'tenant_route_model:inference_cost_usd_per_1k_tokens:ratio_rate1h',
      expr: `1000 * ${rate(series.cost, MODEL)} / ${rate(series.tokens, MODEL)}`,
    },
    {
      record: 'tenant_route:llm_tokens_per_request:ratio_rate1h',
      expr: `${rate(series.tokens, ROUTE)} / ${rate(series.requests, ROUTE)}`,
    },
  ];
}

function baselineRules({ series }: AlertRulesConfig): Rule[] {
  return [
    {
      record: 'tenant_route:inference_cost_usd:rate14d',
      expr:
        `sum by (${ROUTE}) (rate(${series.cost}[14d]))\n  and on (${ROUTE})\n` +
        `group by (${ROUTE}) (present_over_time(${series.cost}[1h] offset 14d))\n`,
    },
    {
      // The platform's own baseline where it exports one (the seed's llm_tokens_baseline: input tokens per request,
      // per route); else what a request carried over the week that ended an hour ago, so a blow-up does not raise
      // its own reference for the first hour (and barely for days).
      record: 'route:llm_input_tokens_per_request:baseline',
      expr:
        `max by (env, route) (${series.tokensPerRequestBaseline})\n  or on (env, route)\n` +
        `sum by (env, route) (increase(${series.inputTokens}[7d] offset 1h))\n` +
        `  / sum by (env, route) (increase(${series.requests}[7d] offset 1h))\n`,
    },
    {
      record: 'tenant_route:llm_cache_hit_ratio:avg1d',
      expr: `avg by (${ROUTE}) (avg_over_time(${series.cacheHitRatio}[1d] offset 1h))`,
    },
  ];
}

const SPEND_PLAYBOOK = {
  S1: 'finops-soar runs cost-s1 (cost cut, daily token cap, throttling with approval)',
  S2: 'finops-soar runs cost-s2 (cheaper requests: context cap, aggressive cache, compression) and escalates to cost-s1 after 30 minutes',
};

function spendAlerts(config: AlertRulesConfig): Rule[] {
  return (['S1', 'S2'] as const).flatMap((severity) =>
    perOverride(
      config,
      'spendBurnRate',
      severity,
      config.spendBurnRate[severity],
      ({ above }, m) =>
        `${withMatchers('tenant_route:inference_cost_usd:rate10m', m)} / ${withMatchers('tenant_route:inference_cost_usd:rate14d', m)} > ${above}`,
      { series: 'tenant_route:inference_cost_usd:rate10m', on: ROUTE },
      {
        name: 'LLMSpendBurnRateHigh',
        annotations: (level, override) => ({
          summary:
            '{{ $labels.tenant }} spends {{ $value | printf "%.1f" }}x its 14-day average on {{ $labels.route }}',
          description:
            'Spend of tenant {{ $labels.tenant }} on route {{ $labels.route }} ({{ $labels.env }}) over the last 10 minutes is ' +
            `{{ $value | printf "%.1f" }} times its 14-day average, above ${level.above}x for ${level.for}${overrideNote(override)}. ` +
            `${SPEND_PLAYBOOK[severity]}. Look for a new client, a retry loop or a batch job on the interactive route, and ` +
            'whether traffic or the cost per request rose: tenant_route:llm_requests_served:rate10m, tenant_route:llm_input_tokens_per_request:ratio_rate10m.',
        }),
      },
    ),
  );
}

function tokenAlerts(config: AlertRulesConfig): Rule[] {
  const { series } = config;
  return perOverride(
    config,
    'inputTokensPerRequest',
    'S2',
    config.inputTokensPerRequest.S2,
    ({ above }, m) =>
      `${withMatchers('tenant_route:llm_input_tokens_per_request:ratio_rate10m', m)}\n` +
      `  / on (env, route) group_left () route:llm_input_tokens_per_request:baseline > ${above}\n` +
      // A tenant new on the route an hour ago has no habits to depart from.
      `  and on (${ROUTE}) group by (${ROUTE}) (present_over_time(${series.inputTokens}[10m] offset 1h))`,
    { series: 'tenant_route:llm_input_tokens_per_request:ratio_rate10m', on: ROUTE },
    {
      name: 'LLMInputTokensPerRequestHigh',
      annotations: (level, override) => ({
        summary:
          '{{ $labels.tenant }}\'s requests carry {{ $value | printf "%.1f" }}x the route\'s usual input tokens on {{ $labels.route }}',
        description:
          'Requests of tenant {{ $labels.tenant }} on route {{ $labels.route }} ({{ $labels.env }}) carry {{ $value | printf "%.1f" }} times ' +
          `the route's baseline of input tokens per request, above ${level.above}x for ${level.for}${overrideNote(override)}: prompts are ballooning ` +
          '(context stuffing, a RAG change, conversation history never trimmed). finops-soar runs cost-s2 (context cap, compression). ' +
          'Compare tenant_route:llm_input_tokens_per_request:ratio_rate10m with route:llm_input_tokens_per_request:baseline.',
      }),
    },
  );
}

function cacheAlerts({ cacheHitRatio: cache, series }: AlertRulesConfig): Rule[] {
  const traffic = `tenant_route:llm_requests_served:rate10m > ${cache.minRequestsPerSecond}`;
  const ratio = `sum by (${ROUTE}) (${series.cacheHitRatio})`;
  return [
    {
      alert: 'LLMCacheHitRatioLow',
      expr:
        `${ratio} < ${cache.drop.belowShareOfUsual} * tenant_route:llm_cache_hit_ratio:avg1d\n  and on (${ROUTE})\n` +
        `tenant_route:llm_cache_hit_ratio:avg1d - ${ratio} > ${cache.drop.minPoints}\n  and on (${ROUTE})\n${traffic}`,
      for: cache.drop.for,
      labels: { severity: 'S2' },
      annotations: {
        summary:
          'Cache hit ratio of {{ $labels.tenant }} on {{ $labels.route }} down to {{ $value | humanizePercentage }}',
        description:
          "The response cache of route {{ $labels.route }} answers {{ $value | humanizePercentage }} of tenant {{ $labels.tenant }}'s " +
          `requests ({{ $labels.env }}), under ${cache.drop.belowShareOfUsual * 100}% of its average over the previous day, for ${cache.drop.for} ` +
          'with traffic flowing: every miss is paid for. finops-soar runs cost-s2 (aggressive cache mode). Look for a cache flush, a ' +
          'changed prompt template (new cache keys) or a cache node down; the usual ratio is tenant_route:llm_cache_hit_ratio:avg1d.',
      },
    },
    {
      // The seed's absolute rule: a savings opportunity for FinOps to look at, not an incident (no playbook matches it;
      // Alertmanager sends S3 to FinOps). A route that caches poorly since it started is as much an opportunity.
      alert: 'LLMCacheSavingsOpportunity',
      expr:
        `tenant_route:llm_cache_hit_ratio:avg1h < ${cache.savingsOpportunity.below}\n  and on (${ROUTE})\n${traffic}\n` +
        `  and on (${ROUTE}) group by (${ROUTE}) (present_over_time(${series.cacheHitRatio}[10m] offset 1h))`,
      for: cache.savingsOpportunity.for,
      labels: { severity: 'S3' },
      annotations: {
        summary:
          "Cache of {{ $labels.route }} answers {{ $value | humanizePercentage }} of {{ $labels.tenant }}'s requests: a savings opportunity",
        description:
          'Over the last hour the response cache of route {{ $labels.route }} answered {{ $value | humanizePercentage }} of tenant ' +
          `{{ $labels.tenant }}'s requests ({{ $labels.env }}), under ${cache.savingsOpportunity.below * 100}%, with real traffic. ` +
          'No playbook runs: FinOps decides whether a cache (semantic caching, longer TTLs, prompt templates that share a prefix) pays here.',
      },
    },
  ];
}

const GPU_PLAYBOOK = {
  S1: 'finops-soar runs capacity-s1 (war-room, core/risk/fraud first, circuit breaks with approval)',
  S2: 'finops-soar runs capacity-s2 (scale out if the budget allows, defer batch jobs, shift traffic to the other region) and escalates to capacity-s1 after 20 minutes',
};

function gpuAlerts(config: AlertRulesConfig): Rule[] {
  const { series } = config;
  return (['S1', 'S2'] as const).flatMap((severity) =>
    perOverride(
      config,
      'gpuSaturation',
      severity,
      config.gpuSaturation[severity],
      // A gauge: saturated means the utilisation never dropped below the threshold over the window (rate() is for
      // counters); the queue grows when its least-squares slope (per second) is above the threshold.
      ({ utilization, window, queueGrowthPerMinute }, m) =>
        `min_over_time(${withMatchers(series.gpuUtilization, m)}[${window}]) >= ${utilization}\n  and on (${DEPLOYMENT})\n` +
        `deriv(${withMatchers(series.queueDepth, m)}[${window}]) > ${+(queueGrowthPerMinute / 60).toPrecision(6)}\n` +
        // A deployment younger than the window has too few samples to say either.
        `  and on (${DEPLOYMENT}) group by (${DEPLOYMENT}) (present_over_time(${withMatchers(series.gpuUtilization, m)}[1m] offset ${window}))`,
      { series: series.gpuUtilization, on: DEPLOYMENT },
      {
        name: 'GPUSaturatedQueueGrowing',
        annotations: (level, override) => ({
          summary: `{{ $labels.deployment }} GPUs saturated with the queue growing for ${level.window}`,
          description:
            'Deployment {{ $labels.namespace }}/{{ $labels.deployment }} ({{ $labels.model }}, {{ $labels.region }}) has run at ' +
            `${level.utilization * 100}% GPU utilisation or more for ${level.window} while its queue grew by more than ` +
            `${level.queueGrowthPerMinute} requests a minute${overrideNote(override)}: latency degrades on every route it serves. ` +
            `${GPU_PLAYBOOK[severity]}. Check replicas, the HPA ceiling and a stuck node.`,
        }),
      },
    ),
  );
}

/** The rule file (YAML) for config `alerts`. */
export function renderAlertRules(config: AlertRulesConfig): string {
  const document = new Document({
    groups: [
      { name: 'finops-soar-rates', rules: recordingRules(config) },
      // Long windows over raw samples are costly and move slowly: every 2 minutes is enough (not 5: a recorded
      // sample must stay within the 5-minute lookback of the rules reading it).
      { name: 'finops-soar-baselines', interval: '2m', rules: baselineRules(config) },
      { name: 'finops-soar-unit-costs', interval: '1m', rules: unitCostRules(config) },
      {
        name: 'finops-soar-alerts',
        rules: [...spendAlerts(config), ...tokenAlerts(config), ...cacheAlerts(config), ...gpuAlerts(config)],
      },
    ],
  });
  document.commentBefore =
    ' Generated by `finops-soar rules` from config `alerts` (docs/alert-rules.md); do not edit: change the\n' +
    ' configuration and regenerate. Unit tests: test/rules (promtool test rules).';
  return document.toString({ lineWidth: 0 });
}
