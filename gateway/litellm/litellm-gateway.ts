// The GatewayAdapter for a LiteLLM proxy (gateway.kind: litellm): a tenant is a team, a route a model group. What it
// can and cannot change is gateway/gateway-knobs.ts's table (docs/gateways.md); each change is read, compared and
// written with its record on the object (litellm-records.ts), since LiteLLM has neither idempotency keys nor revisions.
import type { GatewayAdapter } from '../adapter';
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
} from '../control-api';
import { LiteLlmAdminClient, type LiteLlmAdminOptions } from './litellm-admin-client';
import { LiteLlmRouteChanges } from './litellm-route-changes';
import { LiteLlmTeamChanges } from './litellm-team-changes';
import { LiteLlmTiers } from './litellm-tiers';

export interface LiteLlmGatewayOptions extends LiteLlmAdminOptions {
  /** gateway.litellm.tiers: the model group of each tier, {route} standing for the route. */
  tiers: Record<string, string>;
}

export class LiteLlmGateway implements GatewayAdapter {
  private readonly teams: LiteLlmTeamChanges;
  private readonly routes: LiteLlmRouteChanges;

  constructor({ tiers, ...admin }: LiteLlmGatewayOptions) {
    const client = new LiteLlmAdminClient(admin);
    const mapping = new LiteLlmTiers(tiers);
    this.teams = new LiteLlmTeamChanges(client, mapping);
    this.routes = new LiteLlmRouteChanges(client, mapping);
  }

  getRoutePolicy({ route, tenant }: PolicyScope): Promise<PolicyDocument> {
    return tenant === undefined ? this.routes.policy(route) : this.teams.policy(route, tenant);
  }

  patchRoutePolicy(
    { route, tenant }: PolicyScope,
    patch: RoutePolicyPatch,
    { idempotencyKey }: { idempotencyKey: string },
  ): Promise<PolicyChange> {
    return tenant === undefined
      ? this.routes.patchPolicy(route, patch, idempotencyKey)
      : this.teams.patchPolicy(route, tenant, patch, idempotencyKey);
  }

  getTenantQuota(tenant: string): Promise<QuotaDocument> {
    return this.teams.quota(tenant);
  }

  patchTenantQuota(
    tenant: string,
    patch: TenantQuotaPatch,
    { idempotencyKey }: { idempotencyKey: string },
  ): Promise<QuotaChange> {
    return this.teams.patchQuota(tenant, patch, idempotencyKey);
  }

  getRegionWeights(route: string): Promise<RegionWeightsDocument> {
    return this.routes.weights(route);
  }

  setRegionWeights(
    route: string,
    update: RegionWeightsUpdate,
    { idempotencyKey }: { idempotencyKey: string },
  ): Promise<RegionWeightsChange> {
    return this.routes.setWeights(route, update, idempotencyKey);
  }
}
