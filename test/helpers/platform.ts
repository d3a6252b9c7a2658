// A plain-object control plane and fixed-size routes, for testing the simulator's load model
// without the policy store: tests set policies, quotas, weights and replicas directly.
import type { RoutePolicy } from '../../gateway/control-api';
import type { Catalog } from '../../simulator/platform/catalog';
import type { ControlPlaneView, TenantQuota } from '../../simulator/platform/model';

const BASE_POLICY: RoutePolicy = {
  maxInputTokens: null,
  cacheMode: 'off',
  modelTier: 'premium',
  fallbackModel: null,
  rateLimitRps: null,
  circuit: { state: 'closed', failMode: 'open' },
  priority: 5,
  promptCompression: false,
};

export interface FakeControlPlane extends ControlPlaneView {
  /** By route, or `route/tenant` for a tenant's overrides. */
  policies: Record<string, Partial<RoutePolicy>>;
  quotas: Record<string, TenantQuota>;
  weights: Record<string, Record<string, number>>;
  replicaCounts: Record<string, number>;
}

export function fakeControlPlane(catalog: Catalog): FakeControlPlane {
  const view: FakeControlPlane = {
    policies: {},
    quotas: {},
    weights: {},
    replicaCounts: Object.fromEntries(catalog.deployments.map((d) => [d.name, d.replicas])),
    effectivePolicy: (route, tenant) => ({
      ...BASE_POLICY,
      ...view.policies[route],
      ...(tenant === undefined ? {} : view.policies[`${route}/${tenant}`]),
    }),
    tenantQuota: (tenant) => view.quotas[tenant] ?? null,
    regionWeights: (route) => view.weights[route] ?? null,
    replicas: (deployment) => view.replicaCounts[deployment] ?? 0,
  };
  return view;
}

/** Every chat request is 1200 in / 300 out, every summarize request 6000 / 400: rates are exact. */
export const FLAT_ROUTES: Catalog['routes'] = {
  chat: {
    input: { median: 1_200, sigma: 0, max: 128_000 },
    output: { median: 300, sigma: 0, max: 4_096 },
    cacheHitRatio: { standard: 0.25, aggressive: 0.5 },
  },
  summarize: {
    input: { median: 6_000, sigma: 0, max: 128_000 },
    output: { median: 400, sigma: 0, max: 2_048 },
    cacheHitRatio: { standard: 0.25, aggressive: 0.5 },
  },
};
