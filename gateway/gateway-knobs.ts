// What each kind of gateway can change, knob by knob: the one table that `finops-soar validate`, the ingress's
// start-up and the plan read (a step that needs a knob the configured gateway lacks is refused at load, or skipped
// by the plan when the step says `unsupported: skip`), and that docs/gateways.md prints. Pure: the plan uses it.
import type { RoutePolicyField, TenantQuotaField } from './control-api';

export const GATEWAY_KINDS = ['control-api', 'litellm', 'kong'] as const;
export type GatewayKind = (typeof GATEWAY_KINDS)[number];

/** A route's policy is set for the whole route, or for one tenant on it. */
export type KnobScope = 'route' | 'tenant';

export type Knob = `policy.${RoutePolicyField}` | `quota.${TenantQuotaField}` | 'regionWeights';

/** How a gateway does a knob in each scope it can (in words, for the docs), and why not where it cannot. */
export type KnobSupport = Partial<Record<KnobScope, string>> & { lacks?: string };

const CONTROL_API = (how: string): KnobSupport => ({ route: how, tenant: how });

export const GATEWAY_KNOBS: Record<GatewayKind, Record<Knob, KnobSupport>> = {
  'control-api': {
    'policy.maxInputTokens': CONTROL_API('PATCH /v1/routes/{route}[/tenants/{tenant}]/policy'),
    'policy.cacheMode': CONTROL_API('the same PATCH'),
    'policy.modelTier': CONTROL_API('the same PATCH'),
    'policy.fallbackModel': CONTROL_API('the same PATCH'),
    'policy.rateLimitRps': CONTROL_API('the same PATCH'),
    'policy.circuit': CONTROL_API('the same PATCH'),
    'policy.priority': CONTROL_API('the same PATCH'),
    'policy.promptCompression': CONTROL_API('the same PATCH'),
    'quota.tokensPerDay': { tenant: 'PATCH /v1/tenants/{tenant}/quota' },
    'quota.requestsPerSecond': { tenant: 'the same PATCH' },
    'quota.costPerDayUsd': { tenant: 'the same PATCH' },
    regionWeights: { route: 'PUT /v1/routes/{route}/regions' },
  },
  // A tenant is a LiteLLM team (team_id = the tenant label), a route a model group (model_name = the route label).
  litellm: {
    'policy.maxInputTokens': {
      route:
        "model_info.max_input_tokens on each of the model group's deployments, where each has one already (PATCH /model/{id}/update); enforced with router_settings.enable_pre_call_checks",
      lacks: 'per tenant: LiteLLM caps input tokens per deployment, for every team alike',
    },
    'policy.cacheMode': { lacks: 'LiteLLM switches its response cache for the whole proxy only (/cache/settings)' },
    'policy.modelTier': {
      tenant: "the team's model_aliases: the route's name points at the tier's model group (POST /team/update)",
      lacks: 'for a whole route: LiteLLM aliases models per team or key',
    },
    'policy.fallbackModel': {
      route: 'the model group fallbacks (POST /fallback, DELETE /fallback/{model})',
      tenant:
        "checked, not written: LiteLLM's fallbacks belong to a model group, so the tier's group must fall back to this tier's group",
    },
    'policy.rateLimitRps': {
      tenant:
        "the team's metadata.model_rpm_limit for each of the route's model groups, in requests per minute (POST /team/update)",
      lacks: 'for a whole route: LiteLLM limits requests per key, team or deployment',
    },
    'policy.circuit': {
      lacks:
        "a team's models can be narrowed, but a model alias passes LiteLLM's access check regardless (auth_checks.py), and nothing refuses a model group to everyone",
    },
    'policy.priority': { lacks: 'LiteLLM has no per-route or per-tenant scheduling priority' },
    'policy.promptCompression': { lacks: 'LiteLLM does not compress prompts' },
    'quota.tokensPerDay': { lacks: "LiteLLM limits tokens per minute (tpm_limit), not per day; use a team's budget" },
    'quota.requestsPerSecond': { tenant: "the team's rpm_limit, in requests per minute (POST /team/update)" },
    'quota.costPerDayUsd': { tenant: "the team's max_budget with budget_duration 1d (POST /team/update)" },
    regionWeights: {
      route:
        "each deployment's litellm_params.weight, by its litellm_params.region_name, where each has a weight already (PATCH /model/{id}/update)",
    },
  },
  // A tenant is a Kong consumer (username = the tenant label), a route a Kong route (name = the route label); a tenant's
  // policy on a route is a plugin on the route and the consumer together, which Kong prefers over the route's own.
  kong: {
    'policy.maxInputTokens': {
      lacks:
        "Kong caps request bodies in bytes (request-size-limiting, ai-prompt-guard's max_request_body_size), not prompts in tokens; ai-proxy's max_tokens caps the answer",
    },
    'policy.cacheMode': {
      route:
        "the route's ai-semantic-cache plugin, where it has one already, switched on (standard and aggressive alike) or off (PATCH /plugins/{id} enabled)",
      tenant:
        'the ai-semantic-cache plugin on the route and the consumer, where there is one already, switched the same way',
    },
    'policy.modelTier': {
      lacks:
        "Kong picks the model from an ai-proxy-advanced plugin's targets, which carry the provider credentials; the engine does not copy them into new targets or plugins",
    },
    'policy.fallbackModel': {
      lacks:
        "Kong fails over between an ai-proxy-advanced plugin's targets (balancer.failover_criteria), not to a named model",
    },
    'policy.rateLimitRps': {
      route:
        'a rate-limiting plugin on the route, config.second with limit_by service (made by the engine where none is; POST /routes/{route}/plugins, PATCH /plugins/{id})',
      tenant:
        'a rate-limiting plugin on the route and the consumer, config.second with limit_by consumer (the same calls)',
    },
    'policy.circuit': {
      route:
        'a request-termination plugin on the route answering 503 (made by the engine, deleted when it closes the circuit)',
      tenant: 'a request-termination plugin on the route and the consumer (the same)',
    },
    'policy.priority': { lacks: 'Kong has no per-route or per-consumer scheduling priority' },
    'policy.promptCompression': {
      route:
        "the route's ai-prompt-compressor plugin, where it has one already, switched on or off (PATCH /plugins/{id} enabled)",
      tenant: 'the ai-prompt-compressor plugin on the route and the consumer, where there is one already',
    },
    'quota.tokensPerDay': {
      tenant:
        "the one-day window (window_size 86400) of the consumer's ai-rate-limiting-advanced plugin counting total_tokens, where it has one already (PATCH /plugins/{id})",
    },
    'quota.requestsPerSecond': {
      tenant:
        "the consumer's own rate-limiting plugin, config.second with limit_by consumer (made by the engine where none is)",
    },
    'quota.costPerDayUsd': {
      tenant:
        "the one-day window of the consumer's ai-rate-limiting-advanced plugin counting cost (tokens_count_strategy cost), where it has one already",
    },
    regionWeights: {
      route:
        "the weights of the route's ai-proxy-advanced targets, each target's region in its description (PATCH /plugins/{id}, targets sent whole)",
    },
  },
};

/** Why `kind` cannot do `knob` in `scope`, or undefined when it can. */
export function knobLacking(kind: GatewayKind, knob: Knob, scope: KnobScope): string | undefined {
  const support: KnobSupport | undefined = GATEWAY_KNOBS[kind][knob];
  // A field no gateway knows is the params schema's to refuse, not this table's.
  if (!support || support[scope]) return undefined;
  return support.lacks ?? `${kind} cannot change ${knob} for a ${scope === 'tenant' ? 'tenant' : 'whole route'}`;
}

/** The knobs a gateway step's params change (none for steps that only read). */
export function knobsOf(action: string, params: unknown): Knob[] {
  const object = (value: unknown) =>
    value !== null && typeof value === 'object' && !Array.isArray(value) ? Object.keys(value) : [];
  const given = (params ?? {}) as Record<string, unknown>;
  if (action === 'gateway.setRoutePolicy') return object(given.policy).map((field) => `policy.${field}` as Knob);
  if (action === 'gateway.setTenantQuota') return object(given.quota).map((field) => `quota.${field}` as Knob);
  if (action === 'gateway.setRegionWeights') return ['regionWeights'];
  return [];
}

/**
 * The scopes a step may act in. A named route (params.route) is the whole route; otherwise a route target's tenant
 * when its alert has a tenant label, the whole route when not: `tenant` undefined means not known yet (at load), so
 * both. Quotas are always a tenant's; region weights always a route's.
 */
export function scopesOf(action: string, params: unknown, tenant: string | undefined | null): KnobScope[] {
  if (action === 'gateway.setTenantQuota') return ['tenant'];
  if (action === 'gateway.setRegionWeights') return ['route'];
  if ((params as { route?: unknown } | undefined)?.route !== undefined) return ['route'];
  if (tenant === undefined) return ['tenant', 'route'];
  return tenant ? ['tenant'] : ['route'];
}

/** Each knob the step needs that `kind` lacks, with why: empty when the gateway can do all of it. */
export function lackedKnobs(
  kind: GatewayKind,
  action: string,
  params: unknown,
  tenant?: string | null,
): Array<{ knob: Knob; why: string }> {
  const scopes = scopesOf(action, params, tenant);
  return knobsOf(action, params).flatMap((knob) => {
    const why = scopes.map((scope) => knobLacking(kind, knob, scope)).find((reason) => reason !== undefined);
    return why ? [{ knob, why }] : [];
  });
}

const KNOB_WORDS: Record<Knob, string> = {
  'policy.maxInputTokens': 'cap the prompt (maxInputTokens)',
  'policy.cacheMode': 'response caching (cacheMode)',
  'policy.modelTier': 'a cheaper model tier (modelTier)',
  'policy.fallbackModel': 'a fallback model (fallbackModel)',
  'policy.rateLimitRps': 'a request rate limit (rateLimitRps)',
  'policy.circuit': 'open the circuit (circuit)',
  'policy.priority': 'scheduling priority (priority)',
  'policy.promptCompression': 'prompt compression (promptCompression)',
  'quota.tokensPerDay': 'tokens per day (quota)',
  'quota.requestsPerSecond': 'requests per second (quota)',
  'quota.costPerDayUsd': 'cost per day (quota)',
  regionWeights: 'split a route across regions (region weights)',
};

/** The table docs/gateways.md prints (a unit test keeps the two the same): each knob, per gateway and scope. */
export function knobTable(): string {
  // A quota is always a tenant's and a split always a whole route's: the other scope does not apply.
  const applies = (knob: Knob, scope: KnobScope) =>
    scope === 'route' ? !knob.startsWith('quota.') : knob !== 'regionWeights';
  const cell = (knob: Knob, support: KnobSupport, scope: KnobScope) =>
    !applies(knob, scope) ? '—' : (support[scope] ?? `no: ${support.lacks ?? 'not supported'}`);
  const columns = GATEWAY_KINDS.flatMap((kind) => [`${kind}: whole route`, `${kind}: one tenant`]);
  const rows = (Object.keys(KNOB_WORDS) as Knob[]).map((knob) => [
    KNOB_WORDS[knob],
    ...GATEWAY_KINDS.flatMap((kind) => [
      cell(knob, GATEWAY_KNOBS[kind][knob], 'route'),
      cell(knob, GATEWAY_KNOBS[kind][knob], 'tenant'),
    ]),
  ]);
  return [['knob', ...columns], columns.map(() => '---').concat('---'), ...rows]
    .map((row) => `| ${row.join(' | ')} |`)
    .join('\n');
}
