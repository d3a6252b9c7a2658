// Config `alerts` and the rules it renders (alert-rules/): defaults are the seed's, an override is a rule of its
// own and is taken out of the default rule, and a mistake names the field and the fix.
import { parse } from 'yaml';
import { alertRulesSchema } from '../../alert-rules/alert-rules-schema';
import { renderAlertRules, withMatchers } from '../../alert-rules/render-alert-rules';
import { configSchema } from '../../config/config-schema';

interface RuleFile {
  groups: Array<{
    name: string;
    rules: Array<{ alert?: string; record?: string; expr: string; for?: string; labels?: Record<string, string> }>;
  }>;
}
const alertsOf = (alerts: unknown, name: string) =>
  (parse(renderAlertRules(alertRulesSchema.parse(alerts))) as RuleFile).groups
    .flatMap((group) => group.rules)
    .filter((rule) => rule.alert === name);

test('matchers go inside a series’ own braces, or in new ones', () => {
  expect(withMatchers('gpu_utilization', 'deployment="a"')).toBe('gpu_utilization{deployment="a"}');
  expect(withMatchers('llm_tokens_total{type="input"}', 'tenant="acme"')).toBe(
    'llm_tokens_total{type="input", tenant="acme"}',
  );
  expect(withMatchers('llm_tokens_total{type="input"}', '')).toBe('llm_tokens_total{type="input"}');
});

test('the default rules are the seed’s: 2x the 14-day average, 1.5x the per-request baseline, 90 % and a growing queue', () => {
  const spend = alertsOf({}, 'LLMSpendBurnRateHigh');
  expect(spend.map((rule) => [rule.labels?.severity, rule.expr, rule.for])).toEqual([
    ['S1', 'tenant_route:inference_cost_usd:rate10m / tenant_route:inference_cost_usd:rate14d > 4', '15m'],
    ['S2', 'tenant_route:inference_cost_usd:rate10m / tenant_route:inference_cost_usd:rate14d > 2', '30m'],
  ]);
  expect(alertsOf({}, 'LLMInputTokensPerRequestHigh')[0]?.expr).toContain(
    '/ on (env, route) group_left () route:llm_input_tokens_per_request:baseline > 1.5',
  );
  const gpu = alertsOf({}, 'GPUSaturatedQueueGrowing');
  expect(gpu.map((rule) => rule.labels?.severity)).toEqual(['S1', 'S2']);
  expect(gpu[1]?.expr).toContain('min_over_time(gpu_utilization[10m]) >= 0.9');
  expect(gpu[1]?.expr).toContain('deriv(inference_queue_depth[10m]) > 0.00833333');
  expect(alertsOf({}, 'LLMCacheSavingsOpportunity')[0]).toMatchObject({ labels: { severity: 'S3' }, for: '5m' });
});

test('an override is a rule of its own, and the rules before it and the default leave its series alone', () => {
  const spend = alertsOf(
    {
      overrides: [
        { match: { tenant: 'acme' }, spendBurnRate: { S2: { above: 3 } } },
        { match: { route: 'chat', env: 'prod' }, spendBurnRate: { S2: { for: '1h' } } },
      ],
    },
    'LLMSpendBurnRateHigh',
  ).filter((rule) => rule.labels?.severity === 'S2');
  expect(spend.map((rule) => [rule.labels, rule.expr, rule.for])).toEqual([
    [
      { severity: 'S2', thresholds: 'tenant=acme' },
      'tenant_route:inference_cost_usd:rate10m{tenant="acme"} / tenant_route:inference_cost_usd:rate14d{tenant="acme"} > 3',
      '30m',
    ],
    [
      { severity: 'S2', thresholds: 'env=prod,route=chat' },
      'tenant_route:inference_cost_usd:rate10m{env="prod", route="chat"} / tenant_route:inference_cost_usd:rate14d{env="prod", route="chat"} > 2\n' +
        '  unless on (env, tenant, route) tenant_route:inference_cost_usd:rate10m{tenant="acme"}',
      '1h',
    ],
    [
      { severity: 'S2' },
      'tenant_route:inference_cost_usd:rate10m / tenant_route:inference_cost_usd:rate14d > 2\n' +
        '  unless on (env, tenant, route) tenant_route:inference_cost_usd:rate10m{tenant="acme"}\n' +
        '  unless on (env, tenant, route) tenant_route:inference_cost_usd:rate10m{env="prod", route="chat"}',
      '30m',
    ],
  ]);
});

test('the series are the user’s: another platform’s metric names reach every rule that reads them', () => {
  const rendered = renderAlertRules(
    alertRulesSchema.parse({ series: { cost: 'litellm_spend_metric_total', queueDepth: 'vllm:num_requests_waiting' } }),
  );
  expect(rendered).toContain('sum by (env, tenant, route) (rate(litellm_spend_metric_total[10m]))');
  expect(rendered).toContain('present_over_time(litellm_spend_metric_total[1h] offset 14d)');
  expect(rendered).toContain('deriv(vllm:num_requests_waiting[10m])');
  expect(rendered).not.toContain('inference_cost_usd_total');
});

test.each([
  [
    'an override of a route alert on a deployment',
    { overrides: [{ match: { deployment: 'llm-a' }, spendBurnRate: { S2: { above: 3 } } }] },
    ['alerts', 'overrides', 0, 'match'],
    'spendBurnRate is per env, tenant, route: match on those labels, not deployment',
  ],
  [
    'a threshold at or under 1x',
    { spendBurnRate: { S2: { above: 1 } } },
    ['alerts', 'spendBurnRate', 'S2', 'above'],
    'Too small: expected number to be >1',
  ],
  [
    'a duration Prometheus cannot read',
    { inputTokensPerRequest: { S2: { for: '15 minutes' } } },
    ['alerts', 'inputTokensPerRequest', 'S2', 'for'],
    'a Prometheus duration, e.g. 15m or 2h',
  ],
  [
    'an override without labels',
    { overrides: [{ match: {}, spendBurnRate: {} }] },
    ['alerts', 'overrides', 0, 'match'],
    'name at least one label, e.g. {tenant: acme}',
  ],
  [
    'a series that is not a selector',
    { series: { cost: 'sum(inference_cost_usd_total)' } },
    ['alerts', 'series', 'cost'],
    'a metric name, with label matchers in braces if any',
  ],
])('refuses %s, naming the field', (_case, alerts, path, message) => {
  const parsed = configSchema.safeParse({ alerts });
  expect(parsed.success).toBe(false);
  expect(parsed.error?.issues[0]).toMatchObject({ path, message });
});

test('an override inherits the configured level for what it does not name, not the built-in default', () => {
  const s1 = alertsOf(
    {
      spendBurnRate: { S1: { above: 5, for: '20m' } },
      overrides: [{ match: { tenant: 'acme' }, spendBurnRate: { S1: { above: 8 } } }],
    },
    'LLMSpendBurnRateHigh',
  ).filter((rule) => rule.labels?.severity === 'S1');
  expect(s1.map((rule) => [rule.labels?.thresholds, rule.expr.match(/> (\d+)/)?.[1], rule.for])).toEqual([
    ['tenant=acme', '8', '20m'],
    [undefined, '5', '20m'],
  ]);
});
