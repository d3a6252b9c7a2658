// The thresholds of the alert rules that start the playbooks (config `alerts`), and the series they read. The
// defaults are the seed's (DESIGN.md "The seed's alerts"): spend above 2x the tenant's 14-day average on a route,
// input tokens per request above 1.5x the route's baseline, GPUs at 90 % or more while the queue keeps growing, a
// cache hit ratio under 30 % over an hour with traffic. `finops-soar rules` renders the rule files from them.
import { z } from 'zod';

const promDuration = z
  .string()
  .regex(/^([0-9]+(ms|s|m|h|d|w|y))+$/, 'a Prometheus duration, e.g. 15m or 2h')
  .describe('a Prometheus duration, e.g. 15m');
const seriesSelector = z
  .string()
  .regex(/^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^{}]*\})?$/, 'a metric name, with label matchers in braces if any')
  .describe('a metric name with optional label matchers, e.g. llm_tokens_total{type="input"}');

// Each level's fields, without defaults: the defaults are set once, below; an override's fields stay unset unless
// it names them, so that it inherits the configured level, not the built-in one.
const spendFields = {
  above: z.number().gt(1).describe("how many times the tenant's 14-day average spend on the route, e.g. 2"),
  for: promDuration,
};
const tokensFields = {
  above: z.number().gt(1).describe("how many times the route's input tokens per request baseline, e.g. 1.5"),
  for: promDuration,
};
const gpuFields = {
  utilization: z.number().gt(0).max(1).describe('the lowest GPU utilisation over the window, e.g. 0.9'),
  window: promDuration.describe('how long GPUs stay saturated and the queue keeps growing'),
  queueGrowthPerMinute: z
    .number()
    .positive()
    .describe('the least-squares growth of the queue over the window, in requests a minute, e.g. 0.5'),
  for: promDuration,
};

const spendLevel = (above: number, duration: string) =>
  z.object({ above: spendFields.above.default(above), for: spendFields.for.default(duration) }).strict();
const tokensLevel = (above: number, duration: string) =>
  z.object({ above: tokensFields.above.default(above), for: tokensFields.for.default(duration) }).strict();
const gpuLevel = (window: string) =>
  z
    .object({
      utilization: gpuFields.utilization.default(0.9),
      window: gpuFields.window.default(window),
      queueGrowthPerMinute: gpuFields.queueGrowthPerMinute.default(0.5),
      for: gpuFields.for.default('5m'),
    })
    .strict();
const cacheSettings = z
  .object({
    drop: z
      .object({
        belowShareOfUsual: z
          .number()
          .gt(0)
          .lt(1)
          .default(0.5)
          .describe("the hit ratio as a share of the route's usual one (the previous day), e.g. 0.5"),
        minPoints: z.number().min(0).lt(1).default(0.05).describe('and at least this much lower, e.g. 0.05'),
        for: promDuration.default('15m'),
      })
      .strict()
      .prefault({}),
    savingsOpportunity: z
      .object({
        below: z.number().gt(0).lt(1).default(0.3).describe('a hit ratio over the last hour under this, e.g. 0.3'),
        for: promDuration.default('5m'),
      })
      .strict()
      .prefault({}),
    minRequestsPerSecond: z
      .number()
      .min(0)
      .default(0.2)
      .describe('real traffic: a ratio over a handful of requests means nothing'),
  })
  .strict();

/** Per-level overrides: a field left out keeps the configured level's. */
const partialLevels = (fields: z.ZodRawShape, levels: readonly string[]) =>
  z.object(Object.fromEntries(levels.map((name) => [name, z.object(fields).partial().strict().optional()]))).strict();

const labelMatch = z
  .record(z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/, 'a label name'), z.string().min(1))
  .refine((match) => Object.keys(match).length > 0, 'name at least one label, e.g. {tenant: acme}');

export const ROUTE_LABELS = ['env', 'tenant', 'route'] as const;
export const DEPLOYMENT_LABELS = ['env', 'namespace', 'deployment'] as const;

const overrideSchema = z
  .object({
    match: labelMatch.describe(
      'the labels the override applies to: env, tenant, route (cost alerts) or env, namespace, deployment (GPU), e.g. {tenant: acme}',
    ),
    spendBurnRate: partialLevels(spendFields, ['S1', 'S2']).optional(),
    inputTokensPerRequest: partialLevels(tokensFields, ['S2']).optional(),
    gpuSaturation: partialLevels(gpuFields, ['S1', 'S2']).optional(),
  })
  .strict()
  .superRefine((override, ctx) => {
    const labels = Object.keys(override.match);
    const check = (field: string, allowed: readonly string[]) => {
      const wrong = labels.filter((label) => !allowed.includes(label));
      if (field in override && wrong.length > 0)
        ctx.addIssue({
          code: 'custom',
          path: ['match'],
          message: `${field} is per ${allowed.join(', ')}: match on those labels, not ${wrong.join(', ')}`,
        });
    };
    check('spendBurnRate', ROUTE_LABELS);
    check('inputTokensPerRequest', ROUTE_LABELS);
    check('gpuSaturation', DEPLOYMENT_LABELS);
  });

export const alertRulesSchema = z
  .object({
    series: z
      .object({
        cost: seriesSelector.default('inference_cost_usd_total').describe('spend in US dollars, a counter'),
        inputTokens: seriesSelector.default('llm_tokens_total{type="input"}').describe('input tokens, a counter'),
        tokens: seriesSelector
          .default('llm_tokens_total')
          .describe('every token, in and out, a counter (unit costs per 1k tokens, tokens per request)'),
        requests: seriesSelector.default('http_requests_total{code="200"}').describe('requests served, a counter'),
        tokensPerRequestBaseline: seriesSelector
          .default('llm_tokens_baseline')
          .describe(
            "the route's usual input tokens per request, a gauge; where the platform exports none, the 7-day average",
          ),
        cacheHitRatio: seriesSelector.default('llm_cache_hit_ratio').describe('the response cache hit ratio, 0-1'),
        gpuUtilization: seriesSelector.default('gpu_utilization').describe('GPU utilisation, 0-1, a gauge'),
        queueDepth: seriesSelector.default('inference_queue_depth').describe('requests queued, a gauge'),
      })
      .strict()
      .prefault({})
      .describe('the series the rules read'),
    spendBurnRate: z
      .object({ S2: spendLevel(2, '30m').prefault({}), S1: spendLevel(4, '15m').prefault({}) })
      .strict()
      .prefault({})
      .describe("LLMSpendBurnRateHigh: spend over 10 minutes against the tenant's 14-day average on the route"),
    inputTokensPerRequest: z
      .object({ S2: tokensLevel(1.5, '15m').prefault({}) })
      .strict()
      .prefault({})
      .describe("LLMInputTokensPerRequestHigh: input tokens per request against the route's baseline"),
    gpuSaturation: z
      .object({ S2: gpuLevel('10m').prefault({}), S1: gpuLevel('30m').prefault({}) })
      .strict()
      .prefault({})
      .describe('GPUSaturatedQueueGrowing: saturated GPUs while the queue keeps growing'),
    cacheHitRatio: cacheSettings
      .prefault({})
      .describe('LLMCacheHitRatioLow (S2, a drop) and LLMCacheSavingsOpportunity (S3, tells FinOps, no playbook)'),
    overrides: z
      .array(overrideSchema)
      .default([])
      .describe('thresholds of their own for some routes, tenants or deployments; the first that matches wins'),
  })
  .strict();

export type AlertRulesConfig = z.infer<typeof alertRulesSchema>;
export type AlertOverride = AlertRulesConfig['overrides'][number];
