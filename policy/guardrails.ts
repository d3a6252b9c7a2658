// Rules the engine enforces whatever a playbook says. Pure: the activities apply them at the
// boundary with the gateway, so no playbook, manual run or replayed input can get around them.
// They judge new changes only: undoing a change restores what was there and is never refused.
import type { RoutePolicyField, RoutePolicyPatch } from '../gateway/control-api';

export interface Guardrails {
  /** Routes that are never throttled, tiered, quota-limited or circuit-broken (core, risk, fraud by default). */
  protectedRoutes: readonly string[];
  /** Routes whose circuit breaker fails closed (rejects traffic when it cannot decide); others fail open. */
  sensitiveRoutes: readonly string[];
  /** Tenants whose quota no playbook changes: a quota covers all of a tenant's routes, protected ones too. */
  protectedTenants: readonly string[];
}

/** Failure type of an action the guardrails refused: the run records the refusal and goes on. */
export const REFUSED_BY_GUARDRAILS = 'RefusedByGuardrails';

// Changing these restricts a route's traffic: throttling, tiering to another model, breaking the circuit.
// Region weights are deliberately not restricted anywhere here: moving a protected route's traffic
// between the regions it is already served in keeps every request served at the same policy, so
// it is reallocation, not degradation (and it is how an operator drains a region in trouble).
const RESTRICTIVE_FIELDS: readonly RoutePolicyField[] = ['rateLimitRps', 'modelTier', 'circuit'];

/** Why `patch` may not be applied to `route`, or undefined when it may. */
export function protectedRouteRefusal(
  route: string,
  patch: RoutePolicyPatch,
  guardrails: Guardrails,
): string | undefined {
  if (!guardrails.protectedRoutes.includes(route)) return undefined;
  const touched = RESTRICTIVE_FIELDS.filter((field) => field in patch);
  if (touched.length === 0) return undefined;
  return `route ${route} is protected (engine.protectedRoutes): it is never throttled, tiered or circuit-broken, so ${touched.join(', ')} stays as it is`;
}

/**
 * Why the quota of `tenant` may not be changed by an alert about `route` (undefined: it may). A
 * tenant's quota applies to all its traffic: a tenant that carries protected traffic is listed in
 * engine.protectedTenants, and limiting the tenant whose protected-route traffic raised the alert
 * would limit that route. Any change is refused, loosening too: a playbook has no business
 * managing the quota of protected traffic, and a loosened quota's undo tightens it again.
 */
export function protectedTenantQuotaRefusal(
  tenant: string,
  route: string | undefined,
  guardrails: Guardrails,
): string | undefined {
  if (guardrails.protectedTenants.includes(tenant)) {
    return `tenant ${tenant} is protected (engine.protectedTenants): its traffic is never quota-limited, so its quota stays as it is`;
  }
  if (route === undefined || !guardrails.protectedRoutes.includes(route)) return undefined;
  return `route ${route} is protected (engine.protectedRoutes): its traffic is never quota-limited, so the quota of tenant ${tenant}, whose alert is about route ${route}, stays as it is`;
}

/** `patch` with the circuit's fail mode set by the route's sensitivity, whatever the playbook asked. */
export function withFailMode(route: string, patch: RoutePolicyPatch, guardrails: Guardrails): RoutePolicyPatch {
  if (!patch.circuit) return patch;
  return {
    ...patch,
    circuit: { ...patch.circuit, failMode: guardrails.sensitiveRoutes.includes(route) ? 'closed' : 'open' },
  };
}
