// The GatewayAdapter for Kong's AI Gateway (gateway.kind: kong), through its Admin API: a tenant is a consumer
// (username = the tenant label), a route a Kong route (name = the route label). What it can and cannot change is
// gateway/gateway-knobs.ts's table (docs/gateways.md); each change reads the plugin, writes it only if no one changed it
// meanwhile, and records itself in the plugin's tags (kong-records.ts), since Kong has neither idempotency keys nor
// revisions.
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
import { KongAdminClient, type KongAdminOptions } from './kong-admin-client';
import { KongPlugins } from './kong-plugins';
import { KongPolicy } from './kong-policy';
import { KongQuota } from './kong-quota';
import { KongWeights } from './kong-weights';

export type KongGatewayOptions = KongAdminOptions;

export class KongGateway implements GatewayAdapter {
  private readonly policies: KongPolicy;
  private readonly quotas: KongQuota;
  private readonly splits: KongWeights;

  constructor(options: KongGatewayOptions) {
    const plugins = new KongPlugins(new KongAdminClient(options));
    this.policies = new KongPolicy(plugins);
    this.quotas = new KongQuota(plugins);
    this.splits = new KongWeights(plugins);
  }

  getRoutePolicy({ route, tenant }: PolicyScope): Promise<PolicyDocument> {
    return this.policies.policy(route, tenant);
  }

  patchRoutePolicy(
    { route, tenant }: PolicyScope,
    patch: RoutePolicyPatch,
    { idempotencyKey }: { idempotencyKey: string },
  ): Promise<PolicyChange> {
    return this.policies.patchPolicy(route, tenant, patch, idempotencyKey);
  }

  getTenantQuota(tenant: string): Promise<QuotaDocument> {
    return this.quotas.quota(tenant);
  }

  patchTenantQuota(
    tenant: string,
    patch: TenantQuotaPatch,
    { idempotencyKey }: { idempotencyKey: string },
  ): Promise<QuotaChange> {
    return this.quotas.patchQuota(tenant, patch, idempotencyKey);
  }

  getRegionWeights(route: string): Promise<RegionWeightsDocument> {
    return this.splits.weights(route);
  }

  setRegionWeights(
    route: string,
    update: RegionWeightsUpdate,
    { idempotencyKey }: { idempotencyKey: string },
  ): Promise<RegionWeightsChange> {
    return this.splits.setWeights(route, update, idempotencyKey);
  }
}
