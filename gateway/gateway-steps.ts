// The gateway's actions and checks a playbook step may name (gateway/gateway-activities.ts implements them).
import { z } from 'zod';
import type { Target } from '../alerts/target';
import { STEP_BACK } from '../playbook/step-back';
import type { ActionSpec, StepSpec } from '../playbook/step-spec';
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
    stepBack: STEP_BACK['gateway.setRegionWeights'],
  },
} as const satisfies Record<string, ActionSpec>;

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
