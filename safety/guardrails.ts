// Rules the engine enforces whatever a playbook says. Pure: the activities apply them at the
// boundary with the gateway, so no playbook, manual run or replayed input can get around them.
import type { RoutePolicyField, RoutePolicyPatch } from '../gateway/control-api';

export interface Guardrails {
  /** Routes that are never throttled, tiered or circuit-broken (core, risk, fraud by default). */
  protectedRoutes: readonly string[];
  /** Routes whose circuit breaker fails closed (rejects traffic when it cannot decide); others fail open. */
  sensitiveRoutes: readonly string[];
}

/** Failure type of an action the guardrails refused: the run records the refusal and goes on. */
export const REFUSED_BY_GUARDRAILS = 'RefusedByGuardrails';

// Changing these restricts a route's traffic: throttling, tiering to another model, breaking the circuit.
const RESTRICTIVE_FIELDS: readonly RoutePolicyField[] = ['rateLimitRps', 'modelTier', 'circuit'];

/** Why `patch` may not be applied to `route`, or undefined when it may. */
export function protectedRouteRefusal(route: string, patch: RoutePolicyPatch, guardrails: Guardrails): string | undefined {
  if (!guardrails.protectedRoutes.includes(route)) return undefined;
  const touched = RESTRICTIVE_FIELDS.filter((field) => field in patch);
  if (touched.length === 0) return undefined;
  return `route ${route} is protected (engine.protectedRoutes): it is never throttled, tiered or circuit-broken, so ${touched.join(', ')} stays as it is`;
}

/** `patch` with the circuit's fail mode set by the route's sensitivity, whatever the playbook asked. */
export function withFailMode(route: string, patch: RoutePolicyPatch, guardrails: Guardrails): RoutePolicyPatch {
  if (!patch.circuit) return patch;
  return { ...patch, circuit: { ...patch.circuit, failMode: guardrails.sensitiveRoutes.includes(route) ? 'closed' : 'open' } };
}
