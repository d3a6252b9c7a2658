// The policy questions: "may this action run on this target", asked by the workflow before every
// change (policy.check), and "which tier", a check a playbook step runs (policy.tier) after
// measuring what the tier policy needs in Prometheus. OPA answers when configured (its decision id
// goes into the run), else the built-in rules; see policy/decide.ts for what happens when OPA
// cannot answer.
import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import { TARGET_KIND_NAMES, type Target } from '../alerts/target';
import type { BudgetSpec } from '../finops/budget-rules';
import type { GatewayAdapter } from '../gateway/adapter';
import type { PolicyScope } from '../gateway/control-api';
import { ACTION_NAMES } from '../playbook/step-registry';
import type { Severity } from '../playbook/playbook-schema';
import { TIERS } from './policy-steps';
import { sustainsTraffic, type TenantUsage } from './builtin-rules';
import { decide, type PolicyDecision } from './decide';
import { OpaClient, type OpaClientOptions } from './opa-client';
import { withFailMode, type Guardrails } from './guardrails';
import { formatIssues } from '../validation/issues';
import { parseParams, type CheckActivity } from '../activities/action-contract';
import { budgetNamed, measureBurnRate } from '../finops/finops-activities';
import { callGateway, describeScope, scopeOf } from '../gateway/gateway-activities';
import { instantSamples, instantValue, type PrometheusQuery } from '../prometheus/prometheus-activities';
import { promqlMatcher } from '../prometheus/promql';

const severitySchema = z.enum(['S1', 'S2', 'S3'] satisfies Severity[]);

const targetSchema = z.object({
  kind: z.enum(TARGET_KIND_NAMES),
  key: z.string().min(1),
  labels: z.record(z.string(), z.string()),
});

const policyCheckSchema = z
  .object({
    action: z.enum(ACTION_NAMES).describe('the action about to be applied'),
    target: targetSchema,
    params: z.unknown(),
    severity: severitySchema.describe("the run's severity"),
  })
  .strict();

export type PolicyCheckRequest = z.input<typeof policyCheckSchema>;

export interface PolicyActivities {
  'policy.check': (request: PolicyCheckRequest) => Promise<PolicyDecision>;
  'policy.tier': CheckActivity;
}

export interface PolicyDeps {
  /** The OPA server to ask; without it the built-in rules decide. */
  opa?: OpaClientOptions | undefined;
  guardrails: Guardrails;
  /** Token use (quota), spend (burn rate) and latency (tier). */
  prometheus: PrometheusQuery;
  /** Daily quotas (quota) and the tier a route is served from now (tier). */
  gateway: Pick<GatewayAdapter, 'getRoutePolicy' | 'getTenantQuota'>;
  /** finops.budgets, whose burn rates the tier check measures. */
  budgets: Record<string, BudgetSpec>;
}

function parse<Schema extends z.ZodType>(activity: string, schema: Schema, request: unknown): z.output<Schema> {
  const parsed = schema.safeParse(request);
  if (!parsed.success)
    throw ApplicationFailure.nonRetryable(
      `${activity}: invalid request: ${formatIssues(parsed.error, schema).join('; ')}`,
      'InvalidParams',
    );
  return parsed.data;
}

/**
 * The params as the action would apply them: the engine sets a circuit's fail mode from engine.sensitiveRoutes,
 * whatever the playbook says.
 */
function effectiveParams(action: string, { labels }: Target, params: unknown, guardrails: Guardrails): unknown {
  if (action !== 'gateway.setRoutePolicy' || typeof params !== 'object' || params === null) return params;
  const { route, policy } = params as { route?: unknown; policy?: unknown };
  const routeName = typeof route === 'string' ? route : labels.route;
  if (routeName === undefined || typeof policy !== 'object' || policy === null) return params;
  return { ...params, policy: withFailMode(routeName, policy, guardrails) };
}

/** A PromQL label matcher `name="value"`: the value a PromQL string literal (JSON's escapes differ, e.g. for U+FFFD). */
const labelIs = promqlMatcher;

/**
 * A tenant's tokens since midnight UTC (from Prometheus) and its daily token quota (from the
 * gateway), for the quota policy. What cannot be read is null, and the quota then refuses nothing:
 * the gateway enforces the quota itself, the policy only stops the engine from loosening it.
 */
async function tenantUsage(
  prometheus: PrometheusQuery,
  gateway: Pick<GatewayAdapter, 'getTenantQuota'>,
  tenant: string,
): Promise<TenantUsage> {
  const now = new Date();
  const sinceMidnight = Math.max(
    60,
    Math.floor((now.getTime() - Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate())) / 1000),
  );
  const [tokensToday, tokensPerDay] = await Promise.all([
    instantValue(
      prometheus,
      `sum(increase(llm_tokens_total{${labelIs('tenant', tenant)}}[${sinceMidnight}s]))`,
      'policy.check',
    ).then(
      (tokens) => tokens && Math.round(tokens),
      () => null,
    ),
    gateway.getTenantQuota(tenant).then(
      ({ quota }) => quota.tokensPerDay ?? null,
      () => null,
    ),
  ]);
  return { tokensToday, tokensPerDay };
}

// The gateway's request latency histogram (seconds, by tenant, route, region and model), and the
// info metric that names each model's tier: the tier check needs both from a real gateway, and the
// bundled simulator exports both (README, "The simulated platform").
const LATENCY_BUCKETS = 'llm_request_duration_seconds_bucket';
const MODEL_INFO = 'llm_model_info';

const scopeSelector = ({ route, tenant }: PolicyScope) =>
  [labelIs('route', route), ...(tenant ? [labelIs('tenant', tenant)] : [])].join(',');
const milliseconds = (seconds: number) => Math.round(seconds * 1000);
const hundredths = (value: number) => Math.round(value * 100) / 100;

export function createPolicyActivities({
  opa,
  guardrails,
  prometheus,
  gateway,
  budgets,
}: PolicyDeps): PolicyActivities {
  const client = opa ? new OpaClient(opa) : undefined;
  return {
    async 'policy.check'(request) {
      const { action, target, params, severity } = parse('policy.check', policyCheckSchema, request);
      const tenant = target.labels.tenant;
      const applied = effectiveParams(action, target, params, guardrails);
      // The quota refuses only a change that raises or keeps the tenant's traffic; whether a new
      // quota raises it depends on the current one, so a quota change always reads it.
      const quotaMatters = action === 'gateway.setTenantQuota' || sustainsTraffic(action, applied, undefined);
      const usage = tenant && quotaMatters ? await tenantUsage(prometheus, gateway, tenant) : undefined;
      const question = {
        kind: 'action' as const,
        action,
        target,
        params: applied,
        severity,
        guardrails,
        ...(usage && { usage }),
      };
      return decide(question, { opa: client });
    },

    /**
     * Measures over the window: the budget's burn rate, the p95 latency of the scope's own requests
     * (on the tier it is served from now), and the p95 of each other tier on the same route (other
     * tenants of the route already served there: the best guess of what the scope would get, since a
     * route's prompt and answer sizes weigh more than who sends them); a tier nobody on the route uses
     * takes the playbook's expectation. Then asks the tier policy.
     */
    async 'policy.tier'({ target, params, severity = 'S1' }) {
      const step = 'policy.tier';
      const { route, budget: budgetName, latencySloMs, window, expectedP95LatencyMs } = parseParams(step, params);
      const budget = budgetNamed(budgets, step, budgetName);
      const scope = scopeOf(target, route);
      const latencyQuery = `histogram_quantile(0.95, sum by (le) (rate(${LATENCY_BUCKETS}{${scopeSelector(scope)}}[${window}])))`;
      const [document, burnRate, p95Seconds, byTier] = await Promise.all([
        callGateway(() => gateway.getRoutePolicy(scope)),
        measureBurnRate(prometheus, { budgetName, budget, window, step }),
        instantValue(prometheus, latencyQuery, step),
        instantSamples(
          prometheus,
          `histogram_quantile(0.95, sum by (le, tier) (rate(${LATENCY_BUCKETS}{${labelIs('route', scope.route)}}[${window}]) * on (model) group_left (tier) ${MODEL_INFO}))`,
        ),
      ]);
      if (p95Seconds === null) {
        throw ApplicationFailure.nonRetryable(
          `${step}: ${describeScope(scope)} served no request in the last ${window} (${latencyQuery} gives nothing); check that Prometheus scrapes the gateway's ${LATENCY_BUCKETS}, or widen params.window`,
          'NoLatencyData',
        );
      }
      const currentTier = document.effective.modelTier;
      // A tier that served nothing in the window gives NaN: no measurement.
      const measured = new Map(
        byTier
          .filter(({ value }) => Number.isFinite(value))
          .map(({ labels, value }) => [labels.tier, milliseconds(value)]),
      );
      const expected: Partial<Record<string, number>> = expectedP95LatencyMs;
      const otherTiers = TIERS.filter(
        (tier) => tier !== currentTier && (measured.has(tier) || expected[tier] !== undefined),
      );
      const tierP95LatencyMs = Object.fromEntries(
        otherTiers.map((tier) => [tier, measured.get(tier) ?? expected[tier]]),
      );
      const tierLatencyFrom = Object.fromEntries(
        otherTiers.map((tier) => [tier, measured.has(tier) ? 'measured' : 'expected']),
      );
      const question = {
        kind: 'tier' as const,
        route: scope.route,
        currentTier,
        burnRate: hundredths(burnRate),
        p95LatencyMs: milliseconds(p95Seconds),
        latencySloMs,
        tierP95LatencyMs,
        severity,
        guardrails,
      };
      const { allowed, tier = currentTier, reason, source, decisionId } = await decide(question, { opa: client });
      const rank = (name: string) => TIERS.indexOf(name as (typeof TIERS)[number]);
      return {
        tier,
        changes: tier !== currentTier,
        // Cost playbooks act only on a move down; a tier the policy does not rank is never cheaper.
        cheaper: rank(currentTier) >= 0 && rank(tier) > rank(currentTier),
        currentTier,
        allowed,
        burnRate: question.burnRate,
        p95LatencyMs: question.p95LatencyMs,
        latencySloMs,
        tierP95LatencyMs,
        tierLatencyFrom,
        reason,
        source,
        ...(decisionId !== undefined && { decisionId }),
      };
    },
  };
}
