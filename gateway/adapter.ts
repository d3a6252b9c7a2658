// The one interface the engine uses to change an LLM gateway. The bundled simulator's Control API
// client implements it; adapters for real gateways (LiteLLM, Kong) implement it beside it.
import type {
  PolicyChange,
  PolicyDocument,
  PolicyScope,
  QuotaChange,
  QuotaDocument,
  RegionWeightsChange,
  RegionWeightsDocument,
  RegionWeightsUpdate,
  RoutePolicyPatch,
  TenantQuotaPatch,
} from './control-api';
import { knobLacking, type GatewayKind, type Knob, type KnobScope } from './gateway-knobs';

/**
 * Every change answers with the values it replaced (`previous`, shaped as the request that undoes
 * it). A repeat with the same idempotency key changes nothing and answers the first result again,
 * so retries keep the true previous values.
 */
export interface GatewayAdapter {
  getRoutePolicy(scope: PolicyScope): Promise<PolicyDocument>;
  patchRoutePolicy(
    scope: PolicyScope,
    patch: RoutePolicyPatch,
    options: { idempotencyKey: string },
  ): Promise<PolicyChange>;
  getTenantQuota(tenant: string): Promise<QuotaDocument>;
  patchTenantQuota(tenant: string, patch: TenantQuotaPatch, options: { idempotencyKey: string }): Promise<QuotaChange>;
  getRegionWeights(route: string): Promise<RegionWeightsDocument>;
  /** Replaces the route's region weights; regions it is served in but `update` leaves out get 0. */
  setRegionWeights(
    route: string,
    update: RegionWeightsUpdate,
    options: { idempotencyKey: string },
  ): Promise<RegionWeightsChange>;
}

/**
 * A failed gateway call; `retryable` says whether trying again can help. `notSetUp` marks a change the gateway can
 * make in general but not on this object, because something only its operator can add is missing (a plugin, a
 * deployment's weight, a fallback): a step with `unsupported: skip` is then skipped, saying what to add.
 */
export class GatewayError extends Error {
  override name = 'GatewayError';
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly status?: number,
    readonly notSetUp = false,
  ) {
    super(message);
  }
}

/** A change this gateway object is not set up for (see GatewayError.notSetUp). */
export const notSetUp = (message: string) => new GatewayError(message, false, undefined, true);

/** A change the gateway refused or could not make as asked: trying again cannot help. */
export const refused = (message: string) => new GatewayError(message, false);

/** Another writer changed the object between the engine's read and its write: reading again and retrying can help. */
export const changedMeanwhile = (what: string) =>
  new GatewayError(
    `${what} changed while the engine was changing it (someone else wrote it between the engine's read and its write); the engine reads it again and retries`,
    true,
    409,
  );

/**
 * Refuses, before any call, a change the gateway cannot make (the loader refuses such steps first: gateway-knobs.ts);
 * `title` is how the gateway is named to people, e.g. LiteLLM.
 */
export function refuseLacking(kind: GatewayKind, title: string, knobs: Knob[], scope: KnobScope): void {
  for (const knob of knobs) {
    const why = knobLacking(kind, knob, scope);
    if (why) throw new GatewayError(`${title} cannot set ${knob}: ${why} (docs/gateways.md)`, false);
  }
}
