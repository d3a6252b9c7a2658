// The policies of policy/rego/finops_soar/*.rego as plain TypeScript, so the engine decides the same
// way without an OPA server: same rules, same messages (test/integration/opa.test.ts holds the two
// to a table of cases). Pure: no I/O, no clock.
import type { Target } from '../alerts/target';
import type { Severity } from '../playbook/playbook-schema';
import { protectedRouteRefusal, protectedTenantQuotaRefusal, type Guardrails } from './guardrails';
import { TIERS } from './policy-steps';

/** A tenant's token use today (UTC) and its daily quota; null: unknown use, or an unlimited quota. */
export interface TenantUsage {
  tokensToday: number | null;
  /** Left out when the caller did not read it: OPA then takes it from its data (data.finops_soar.quotas). */
  tokensPerDay?: number | null;
}

/** "May this action run on this target", asked before a change is applied (undoing is never asked). */
export interface ActionQuestion {
  kind: 'action';
  action: string;
  target: Target;
  /** The params as the action would apply them (the circuit's fail mode already set from engine.sensitiveRoutes). */
  params: unknown;
  severity: Severity;
  guardrails: Guardrails;
  /** The target tenant's use and quota, when the caller read them; without it the quota refuses nothing. */
  usage?: TenantUsage;
}

/** "Which tier" a route should be served from, given its burn rate and latency. */
export interface TierQuestion {
  kind: 'tier';
  route: string;
  currentTier: string;
  /** The route's cost rate over its budget pace: 1 is spending exactly at pace. */
  burnRate: number;
  /** The p95 latency measured on the current tier. */
  p95LatencyMs: number;
  latencySloMs: number;
  /** The p95 latency expected on other tiers; a tier left out is never chosen. */
  tierP95LatencyMs: Partial<Record<string, number>>;
  severity: Severity;
  guardrails: Guardrails;
}

export type PolicyQuestion = ActionQuestion | TierQuestion;

export const DENIAL_RULES = [
  'protected_route',
  'protected_tenant',
  'sensitive_fail_open',
  'tenant_over_quota',
] as const;
export type DenialRule = (typeof DENIAL_RULES)[number];

export interface Denial {
  rule: DenialRule;
  message: string;
}

export interface ActionVerdict {
  allowed: boolean;
  /** Every rule that refuses, ordered by message (as OPA orders a set). */
  denials: Denial[];
  reason: string;
}

export interface TierVerdict {
  /** False when the route may not be tiered at all (a protected route): it stays on its current tier. */
  allowed: boolean;
  tier: string;
  reason: string;
}

/** The burn rates from which a route wants each cheaper tier. */
export const BURN_RATE_THRESHOLDS = { standard: 1, distilled: 2 } as const;

type Fields = Record<string, unknown>;
const fieldsOf = (value: unknown): Fields =>
  typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Fields) : {};

/** The tenant's daily quota from the question; OPA may also take it from its data, the built-in rules cannot. */
const tokensPerDayOf = (usage: TenantUsage | undefined) =>
  usage && 'tokensPerDay' in usage ? usage.tokensPerDay : undefined;

function quotaExhausted(usage: TenantUsage | undefined): boolean {
  const limit = tokensPerDayOf(usage);
  return typeof limit === 'number' && typeof usage?.tokensToday === 'number' && usage.tokensToday >= limit;
}

/**
 * A change that raises or keeps a tenant's traffic: on the tenant's own scope of a route, it closes
 * the circuit, lifts (or removes the tenant's) rate limit or input cap, or adds a fallback model;
 * on its quota, it makes a limit unlimited or raises the daily token quota.
 */
export function sustainsTraffic(action: string, params: unknown, usage: TenantUsage | undefined): boolean {
  const fields = fieldsOf(params);
  if (action === 'gateway.setRoutePolicy') {
    if ('route' in fields) return false;
    const policy = fieldsOf(fields.policy);
    const lifted = (field: string) => field in policy && policy[field] === null;
    return (
      fieldsOf(policy.circuit).state === 'closed' ||
      lifted('rateLimitRps') ||
      lifted('maxInputTokens') ||
      typeof policy.fallbackModel === 'string'
    );
  }
  if (action === 'gateway.setTenantQuota') {
    const quota = fieldsOf(fields.quota);
    const current = tokensPerDayOf(usage);
    return (
      Object.values(quota).some((value) => value === null) ||
      (typeof current === 'number' && typeof quota.tokensPerDay === 'number' && quota.tokensPerDay > current)
    );
  }
  return false;
}

function denialsOf({ action, target, params, guardrails, usage }: ActionQuestion): Denial[] {
  const { labels } = target;
  const fields = fieldsOf(params);
  const denials: Denial[] = [];
  if (action === 'gateway.setRoutePolicy') {
    const route = 'route' in fields ? fields.route : labels.route;
    const policy = fieldsOf(fields.policy);
    if (typeof route === 'string') {
      const refusal = protectedRouteRefusal(route, policy, guardrails);
      if (refusal) denials.push({ rule: 'protected_route', message: refusal });
      const circuit = fieldsOf(policy.circuit);
      if (
        guardrails.sensitiveRoutes.includes(route) &&
        circuit.state === 'open' &&
        (circuit.failMode ?? 'open') !== 'closed'
      ) {
        denials.push({
          rule: 'sensitive_fail_open',
          message: `route ${route} is sensitive (engine.sensitiveRoutes): its circuit opens only with failMode closed, so that requests are refused rather than let through unchecked; set policy.circuit.failMode to closed`,
        });
      }
    }
  }
  if (action === 'gateway.setTenantQuota' && labels.tenant) {
    const refusal = protectedTenantQuotaRefusal(labels.tenant, labels.route, guardrails);
    if (refusal) denials.push({ rule: 'protected_tenant', message: refusal });
  }
  if (labels.tenant && sustainsTraffic(action, params, usage) && quotaExhausted(usage)) {
    denials.push({
      rule: 'tenant_over_quota',
      message: `tenant ${labels.tenant} has used ${usage?.tokensToday} of its ${tokensPerDayOf(usage)} tokens today (its daily quota): ${action} would raise or keep its traffic, so it waits until the quota resets at 00:00 UTC`,
    });
  }
  return denials.sort((a, b) => (a.message < b.message ? -1 : a.message > b.message ? 1 : 0));
}

export function actionVerdict(question: ActionQuestion): ActionVerdict {
  const denials = denialsOf(question);
  if (denials.length === 0)
    return { allowed: true, denials, reason: `no policy refuses ${question.action} on ${question.target.key}` };
  return { allowed: false, denials, reason: denials.map(({ message }) => message).join('; ') };
}

export function tierVerdict({
  route,
  currentTier,
  burnRate,
  p95LatencyMs,
  latencySloMs,
  tierP95LatencyMs,
  guardrails,
}: TierQuestion): TierVerdict {
  if (guardrails.protectedRoutes.includes(route)) {
    return {
      allowed: false,
      tier: currentTier,
      reason: `route ${route} is protected (engine.protectedRoutes): it is never tiered, so it stays on ${currentTier}`,
    };
  }
  const wanted =
    burnRate >= BURN_RATE_THRESHOLDS.distilled
      ? 'distilled'
      : burnRate >= BURN_RATE_THRESHOLDS.standard
        ? 'standard'
        : 'premium';
  const latency = (tier: string) => (tier === currentTier ? p95LatencyMs : tierP95LatencyMs[tier]);
  const shown = (tier: string) => `${latency(tier)} ms`;
  // The cheapest tier no cheaper than the wanted one whose latency keeps the SLO.
  const chosen = TIERS.slice(0, TIERS.indexOf(wanted) + 1)
    .filter((tier) => {
      const value = latency(tier);
      return value !== undefined && value <= latencySloMs;
    })
    .at(-1);
  const burn = `burn rate ${burnRate} wants ${wanted} (standard from ${BURN_RATE_THRESHOLDS.standard}, distilled from ${BURN_RATE_THRESHOLDS.distilled})`;
  if (chosen === wanted)
    return {
      allowed: true,
      tier: chosen,
      reason: `${burn}; its p95 ${shown(chosen)} keeps the ${latencySloMs} ms SLO`,
    };
  if (chosen !== undefined && latency(wanted) === undefined) {
    return {
      allowed: true,
      tier: chosen,
      reason: `${burn}, but its p95 is not known; ${chosen} keeps the ${latencySloMs} ms SLO at ${shown(chosen)}`,
    };
  }
  if (chosen !== undefined) {
    return {
      allowed: true,
      tier: chosen,
      reason: `${burn}, but its p95 (${shown(wanted)}) would break the ${latencySloMs} ms SLO; ${chosen} keeps it at ${shown(chosen)}`,
    };
  }
  return {
    allowed: true,
    tier: currentTier,
    reason: `${burn}, but no tier from ${wanted} up to premium is known to keep the ${latencySloMs} ms SLO, so it stays on ${currentTier}`,
  };
}
