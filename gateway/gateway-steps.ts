// The gateway's actions and checks a playbook step may name (gateway/gateway-activities.ts implements them).
import { z } from 'zod';
import type { Target } from '../alerts/target';
import { partWay, type ActionSpec, type StepSpec } from '../playbook/step-spec';
import {
  regionWeightsUpdateSchema,
  routePolicyPatchSchema,
  tenantQuotaPatchSchema,
  type RoutePolicyPatch,
} from './control-api';

// On a target that is not a route (a capacity playbook's deployment), the step names its route.
const routeParam = z
  .string()
  .min(1)
  .optional()
  .describe(
    "the route to act on, for the whole route (every tenant); needed when the playbook's target is not a route, e.g. embeddings",
  );
const namedByRoute = { param: 'route', targets: ['deployment'] } as const;

/** The route a step acts on: the one it names, else the target's. */
const routeOf = ({ labels }: Target, route: string | undefined) => route ?? labels.route ?? '';

export const GATEWAY_ACTIONS = {
  'gateway.setRoutePolicy': {
    description:
      "Change the target route's gateway policy (for the alert's tenant when it has one), or params.route's; undone by restoring the previous values",
    targets: ['route'],
    namedBy: namedByRoute,
    params: z
      .object({
        route: routeParam,
        policy: routePolicyPatchSchema.describe('the policy fields to set, e.g. {maxInputTokens: 4096}'),
      })
      .strict(),
    destructive: ({ policy }: { policy: RoutePolicyPatch }) =>
      policy.circuit?.state === 'open' || (policy.rateLimitRps !== undefined && policy.rateLimitRps !== null),
    // A named route is changed for every tenant; else the target's tenant override, when it has one.
    objects: (target: Target, { route }: { route?: string }) => [
      `gateway/policy/${routeOf(target, route)}${route === undefined && target.labels.tenant ? `/${target.labels.tenant}` : ''}`,
    ],
  },
  'gateway.setTenantQuota': {
    description:
      "Change the quota of the alert's tenant (a tenant target, or a route target with a tenant label), on all its routes; undone by restoring the previous values",
    targets: ['tenant', 'route'],
    params: z
      .object({
        quota: tenantQuotaPatchSchema.describe(
          'the quota fields to set, null for unlimited, e.g. {costPerDayUsd: 500}',
        ),
      })
      .strict(),
    objects: ({ labels }: Target) => [`gateway/quota/${labels.tenant ?? ''}`],
    // A quota refuses the tenant's requests beyond it.
    destructive: () => true,
  },
  'gateway.setRegionWeights': {
    description:
      "Split the target route's (or params.route's) traffic, every tenant's, across the regions it is served in; undone by restoring the previous split",
    targets: ['route'],
    namedBy: namedByRoute,
    params: regionWeightsUpdateSchema.extend({ route: routeParam }),
    objects: (target: Target, { route }: { route?: string }) => [`gateway/regions/${routeOf(target, route)}`],
    stepBack: (undo: RegionWeightsParams, applied: RegionWeightsParams, by: number) => ({
      ...undo,
      weights: weightsPartWay(applied.weights, undo.weights, by),
    }),
  },
} as const satisfies Record<string, ActionSpec>;

type RegionWeightsParams = { route?: string; weights: Record<string, number> };

/**
 * Each region's share part of the way back, to four decimals; the largest share takes the rounding, so the shares
 * still add up to 1 (the Control API refuses weights off by more than WEIGHT_SUM_TOLERANCE).
 */
function weightsPartWay(applied: Record<string, number>, undo: Record<string, number>, by: number) {
  const regions = [...new Set([...Object.keys(applied), ...Object.keys(undo)])].sort();
  const shares = regions.map(
    (region) => [region, Math.round(partWay(applied[region] ?? 0, undo[region] ?? 0, by) * 10_000) / 10_000] as const,
  );
  const [largest] = [...shares].sort(([, a], [, b]) => b - a);
  const others = shares.reduce((sum, [region, share]) => (region === largest![0] ? sum : sum + share), 0);
  return Object.fromEntries(
    shares.map(([region, share]) => [
      region,
      region === largest![0] ? Math.round((1 - others) * 10_000) / 10_000 : share,
    ]),
  );
}

export const GATEWAY_CHECKS = {
  'gateway.getRoutePolicy': {
    description:
      'The policy the target route (and tenant), or params.route, effectively gets; its fields become facts, e.g. <step id>.maxInputTokens',
    targets: ['route'],
    namedBy: namedByRoute,
    params: z.object({ route: routeParam }).strict(),
  },
  'gateway.getTenantQuota': {
    description:
      "The quota of the alert's tenant; its fields become facts, e.g. <step id>.costPerDayUsd (null: unlimited)",
    targets: ['tenant', 'route'],
    params: z.object({}).strict(),
  },
  'gateway.getRegionWeights': {
    description:
      "How the target route's (or params.route's) traffic is split across regions: facts <step id>.primaryRegion, .primaryWeight (its share), .activeRegions (how many get traffic) and .weights",
    targets: ['route'],
    namedBy: namedByRoute,
    params: z.object({ route: routeParam }).strict(),
  },
} as const satisfies Record<string, StepSpec>;
