// The one interface the engine uses to change an LLM gateway. The bundled simulator's Control API
// client implements it; adapters for real gateways (LiteLLM, Kong) implement it beside it.
import type { PolicyChange, PolicyDocument, PolicyScope, RoutePolicyPatch } from './control-api';

export interface GatewayAdapter {
  getRoutePolicy(scope: PolicyScope): Promise<PolicyDocument>;
  /**
   * Applies `patch` and answers with the values it replaced. A repeat with the same idempotency
   * key changes nothing and answers the first result again, so retries keep the true previous values.
   */
  patchRoutePolicy(scope: PolicyScope, patch: RoutePolicyPatch, options: { idempotencyKey: string }): Promise<PolicyChange>;
}

/** A failed gateway call; `retryable` says whether trying again can help. */
export class GatewayError extends Error {
  override name = 'GatewayError';
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly status?: number,
  ) {
    super(message);
  }
}
