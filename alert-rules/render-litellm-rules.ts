// deploy/prometheus/litellm/litellm.rules.yml: LiteLLM's own Prometheus metrics recorded as the series the engine's
// alert rules, budgets, savings and checks read (inference_cost_usd_total, llm_tokens_total, http_requests_total,
// llm_cache_hit_ratio, each by tenant and route; the request latency histogram and each model group's tier, which the
// tier policy reads), so a LiteLLM gateway needs no simulator. `finops-soar rules` writes
// it when gateway.kind is litellm; a test keeps the committed file equal to the default tiers' rendering.
//
// The mapping (LiteLLM's litellm/integrations/prometheus.py and types/integrations/prometheus.py):
// - tenant ← `team` (the team id), route ← `requested_model` (the model group, standard_logging_payload.model_group),
//   with each tier's model group (gateway.litellm.tiers, e.g. chat-distilled) taken back to its route: a tenant the
//   engine tiered down is still the same tenant on the same route.
// - Spend and cache metrics carry the deployment (`model_id`) but not the model group, so their group comes from the
//   deployments' request counter, which carries both (`litellm_deployment_total_requests_total`): the group each
//   deployment served most requests for. LiteLLM versions whose spend metric has no model_id give no spend here.
// - Latency: `litellm_request_total_latency_metric` (seconds, LATENCY_BUCKETS) carries team and requested_model; its
//   `model` is the provider's model name, which the tier check cannot use, so the recorded histogram's `model` is the
//   model group, and `llm_model_info` names the tier of each group seen serving requests (from gateway.litellm.tiers).
// The recorded series keep the names the simulator exports, so nothing else in the engine changes. They are sums of
// counters (rate() is taken by the rules that read them); a LiteLLM restart resets one of its counters, which the sum
// shows as a small drop and rate() as one lost interval.
import { Document } from 'yaml';

/** RE2 for a literal string (Prometheus label_replace regexes are fully anchored RE2). */
const literal = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The RE2 that matches the model groups of a tier template like "{route}-distilled", the route as its group (.+). */
const groupPattern = (template: string) => template.split('{route}').map(literal).join('(.+)');

// Templates like "{route}-distilled": the group that serves a tier names its route once; "{route}" is the route.
const namesItsRoute = (template: string) => template !== '{route}' && template.split('{route}').length === 2;

/** `expr` with `route` set from `from`, and each tier's model group taken back to its route. */
function routeFrom(expr: string, from: string, tiers: Record<string, string>): string {
  let routed = `label_replace(${expr}, "route", "$1", "${from}", "(.+)")`;
  const patterns = [...new Set(Object.values(tiers))].filter(namesItsRoute).map(groupPattern);
  for (const pattern of patterns) routed = `label_replace(${routed}, "route", "$1", "${from}", "${pattern}")`;
  return routed;
}

const tenantFrom = (expr: string) => `label_replace(${expr}, "tenant", "$1", "team", "(.+)")`;

/** A metric by team and model group, as the engine's series by tenant and route. */
const byTenantRoute = (expr: string, tiers: Record<string, string>) =>
  `sum by (tenant, route) (${routeFrom(tenantFrom(expr), 'requested_model', tiers)})`;

// The model group of each deployment, from the counter that carries both: the group it served most requests for (a
// deployment also serves other groups' fallbacks, which would make the group ambiguous), as 1.
const GROUP_OF_DEPLOYMENT =
  '(topk by (model_id) (1, sum by (model_id, requested_model) (litellm_deployment_total_requests_total)) ^ 0)';
const withGroup = (metric: string) =>
  `sum by (team, model_id) (${metric}) * on (model_id) group_left (requested_model) ${GROUP_OF_DEPLOYMENT}`;

const LATENCY = 'litellm_request_total_latency_metric_bucket';

/**
 * `llm_model_info{model, tier}` (1) for each model group seen in the latency histogram, by the tier template it
 * matches; the "{route}" tier takes the groups no other template matches. A group two templates match is left out
 * rather than given two tiers (the tier check joins on it one to one).
 */
function modelInfoRules(tiers: Record<string, string>) {
  const patterns = Object.values(tiers).filter(namesItsRoute).map(groupPattern);
  const matchers = (template: string) => {
    if (!namesItsRoute(template) && template !== '{route}') return [`requested_model="${template}"`];
    const own = template === '{route}' ? [] : [groupPattern(template)];
    const others = patterns.filter((pattern) => !own.includes(pattern));
    return [
      ...own.map((pattern) => `requested_model=~"${pattern}"`),
      ...others.map((other) => `requested_model!~"${other}"`),
    ];
  };
  return Object.entries(tiers).map(([tier, template]) => {
    const groups = `group by (requested_model) (${LATENCY}{${matchers(template).join(',')}})`;
    return {
      record: 'llm_model_info',
      expr: `group by (model) (label_replace(${groups}, "model", "$1", "requested_model", "(.+)"))`,
      labels: { tier },
    };
  });
}

export function renderLiteLlmRules(tiers: Record<string, string>): string {
  const rules = [
    { record: 'inference_cost_usd_total', expr: byTenantRoute(withGroup('litellm_spend_metric_total'), tiers) },
    {
      record: 'llm_tokens_total',
      expr: byTenantRoute('sum by (team, requested_model) (litellm_input_tokens_metric_total)', tiers),
      labels: { type: 'input' },
    },
    {
      record: 'llm_tokens_total',
      expr: byTenantRoute('sum by (team, requested_model) (litellm_output_tokens_metric_total)', tiers),
      labels: { type: 'output' },
    },
    {
      record: 'http_requests_total',
      expr: byTenantRoute(
        'sum by (team, requested_model) (litellm_proxy_total_requests_metric_total{status_code="200"})',
        tiers,
      ),
      labels: { code: '200' },
    },
    {
      record: 'llm_cache_hit_ratio',
      expr: `${byTenantRoute(withGroup('rate(litellm_cache_hits_metric_total[5m])'), tiers)}\n  / (\n    ${byTenantRoute(withGroup('rate(litellm_cache_hits_metric_total[5m])'), tiers)}\n    + ${byTenantRoute(withGroup('rate(litellm_cache_misses_metric_total[5m])'), tiers)}\n  )`,
    },
    {
      record: 'llm_request_duration_seconds_bucket',
      expr: `sum by (tenant, route, model, le) (${routeFrom(
        tenantFrom(
          `label_replace(sum by (team, requested_model, le) (${LATENCY}), "model", "$1", "requested_model", "(.+)")`,
        ),
        'requested_model',
        tiers,
      )})`,
    },
    ...modelInfoRules(tiers),
  ];
  const document = new Document({ groups: [{ name: 'finops-soar-litellm', rules }] });
  document.commentBefore =
    ' Generated by `finops-soar rules` (gateway.kind litellm) from gateway.litellm.tiers (docs/gateways.md); do not\n' +
    " edit: LiteLLM's metrics recorded as the series finops-soar's rules read. Unit tests: deploy/prometheus/tests.";
  return document.toString({ lineWidth: 0 });
}
