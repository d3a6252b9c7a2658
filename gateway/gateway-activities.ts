// Actions and checks on the LLM gateway, through the GatewayAdapter (the Control API client by default).
import { ApplicationFailure } from '@temporalio/common';
import type { Target } from '../alerts/target';
import { GatewayError, type GatewayAdapter } from './adapter';
import type {
  PolicyScope,
  RegionWeights,
  RoutePolicyPatch,
  TenantQuota,
  TenantQuotaField,
  TenantQuotaPatch,
} from './control-api';
import {
  protectedRouteRefusal,
  protectedTenantQuotaRefusal,
  REFUSED_BY_GUARDRAILS,
  withFailMode,
  type Guardrails,
} from '../policy/guardrails';
import { parseParams, type ActionActivity, type CheckActivity } from '../activities/action-contract';
import { GATEWAY_NOT_SET_UP } from './gateway-failures';

/** The route a step names in params.route (all of it), else the target's route and tenant. */
export function scopeOf({ key, labels }: Target, route?: string): PolicyScope {
  if (route !== undefined) return { route };
  if (!labels.route)
    throw ApplicationFailure.nonRetryable(
      `target ${key} names no route: set params.route to the route to act on`,
      'InvalidTarget',
    );
  return labels.tenant ? { route: labels.route, tenant: labels.tenant } : { route: labels.route };
}

export const describeScope = ({ route, tenant }: PolicyScope) =>
  tenant ? `route ${route} (tenant ${tenant})` : `route ${route}`;

const show = (value: unknown) => (value === null || value === undefined ? 'unset' : JSON.stringify(value));
const showLimit = (value: unknown) => (value === null || value === undefined ? 'unlimited' : JSON.stringify(value));

/** `field before → after` for each field, in the order of `fields`. */
const transitions = <Value>(
  fields: readonly string[],
  before: Partial<Record<string, Value>>,
  after: Partial<Record<string, Value>>,
  format: (value: Value | undefined) => string,
) => fields.map((field) => `${field} ${format(before[field])} → ${format(after[field])}`).join(', ');

/** The tenant a quota step is about: a tenant target's, or the tenant label of a route target. */
function tenantOf(step: string, { key, labels }: Target): string {
  if (labels.tenant) return labels.tenant;
  throw ApplicationFailure.nonRetryable(
    `${step}: target ${key} has no tenant label, so there is no tenant whose quota to use; give the alert a tenant label, or limit the whole route with gateway.setRoutePolicy (rateLimitRps)`,
    'InvalidTarget',
  );
}

export async function callGateway<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof GatewayError) {
      if (error.notSetUp) throw ApplicationFailure.nonRetryable(error.message, GATEWAY_NOT_SET_UP);
      throw error.retryable
        ? ApplicationFailure.retryable(error.message, 'GatewayUnavailable')
        : ApplicationFailure.nonRetryable(error.message, 'GatewayRejected', { status: error.status });
    }
    throw error;
  }
}

/** The region with the largest share (the first of equals, in the gateway's order) and how many regions get traffic. */
function regionFacts(weights: RegionWeights) {
  const [primaryRegion, primaryWeight] = Object.entries(weights).reduce((best, entry) =>
    entry[1] > best[1] ? entry : best,
  );
  return {
    primaryRegion,
    primaryWeight,
    activeRegions: Object.values(weights).filter((weight) => weight > 0).length,
    weights,
  };
}

export interface GatewayActivities {
  'gateway.setRoutePolicy': ActionActivity;
  'gateway.setTenantQuota': ActionActivity;
  'gateway.setRegionWeights': ActionActivity;
  'gateway.getRoutePolicy': CheckActivity;
  'gateway.getTenantQuota': CheckActivity;
  'gateway.getRegionWeights': CheckActivity;
}

export function createGatewayActivities(gateway: GatewayAdapter, guardrails: Guardrails): GatewayActivities {
  return {
    async 'gateway.setRoutePolicy'({ target, params, idempotencyKey, purpose, dryRun }) {
      const { route, policy: requested } = parseParams('gateway.setRoutePolicy', params);
      const scope = scopeOf(target, route);
      let policy: RoutePolicyPatch = requested;
      if (purpose === 'apply') {
        const refusal = protectedRouteRefusal(scope.route, policy, guardrails);
        if (refusal) throw ApplicationFailure.nonRetryable(refusal, REFUSED_BY_GUARDRAILS);
        policy = withFailMode(scope.route, policy, guardrails);
      }
      const fields = Object.keys(policy) as Array<keyof RoutePolicyPatch>;
      const describe = (previous: Partial<Record<string, unknown>>) =>
        `${describeScope(scope)}: ${transitions(fields, previous, policy, show)}`;

      if (dryRun) {
        const current = await callGateway(() => gateway.getRoutePolicy(scope));
        const previous = Object.fromEntries(fields.map((field) => [field, current.policy[field] ?? null]));
        return { summary: `would set ${describe(previous)}`, previous, undo: null };
      }
      const change = await callGateway(() => gateway.patchRoutePolicy(scope, policy, { idempotencyKey }));
      return {
        summary: describe(change.previous),
        previous: change.previous,
        undo: {
          action: 'gateway.setRoutePolicy',
          params: {
            ...(route !== undefined && { route }),
            policy: Object.fromEntries(fields.map((field) => [field, change.previous[field] ?? null])),
          },
        },
      };
    },

    async 'gateway.setTenantQuota'({ target, params, idempotencyKey, purpose, dryRun }) {
      const { quota } = parseParams('gateway.setTenantQuota', params);
      const tenant = tenantOf('gateway.setTenantQuota', target);
      if (purpose === 'apply') {
        const refusal = protectedTenantQuotaRefusal(tenant, target.labels.route, guardrails);
        if (refusal) throw ApplicationFailure.nonRetryable(refusal, REFUSED_BY_GUARDRAILS);
      }
      const fields = Object.keys(quota) as TenantQuotaField[];
      const previousOf = (before: Partial<TenantQuota>): TenantQuotaPatch =>
        Object.fromEntries(fields.map((field) => [field, before[field] ?? null]));
      const describe = (previous: TenantQuotaPatch) =>
        `quota of tenant ${tenant}: ${transitions(fields, previous, quota, showLimit)}`;

      if (dryRun) {
        const current = await callGateway(() => gateway.getTenantQuota(tenant));
        const previous = previousOf(current.quota);
        return { summary: `would set ${describe(previous)}`, previous, undo: null };
      }
      const change = await callGateway(() => gateway.patchTenantQuota(tenant, quota, { idempotencyKey }));
      const previous = previousOf(change.previous);
      return {
        summary: describe(previous),
        previous,
        undo: { action: 'gateway.setTenantQuota', params: { quota: previous } },
      };
    },

    // No guardrail: moving traffic between the regions a route is already served in degrades
    // nothing, so protected routes may be rebalanced too (see policy/guardrails.ts).
    async 'gateway.setRegionWeights'({ target, params, idempotencyKey, dryRun }) {
      const { weights, route: named } = parseParams('gateway.setRegionWeights', params);
      const { route } = scopeOf(target, named);
      const describe = (before: RegionWeights, after: RegionWeights) => {
        const regions = [...new Set([...Object.keys(before), ...Object.keys(after)])];
        return `region weights of route ${route}: ${transitions(regions, before, after, (weight) => String(weight ?? 0))}`;
      };

      if (dryRun) {
        const current = await callGateway(() => gateway.getRegionWeights(route));
        return {
          summary: `would set ${describe(current.weights, weights)}`,
          previous: { weights: current.weights },
          undo: null,
        };
      }
      const change = await callGateway(() => gateway.setRegionWeights(route, { weights }, { idempotencyKey }));
      return {
        summary: describe(change.previous.weights, change.weights),
        previous: change.previous,
        undo: {
          action: 'gateway.setRegionWeights',
          params: { weights: change.previous.weights, ...(named !== undefined && { route }) },
        },
        applied: { weights: change.weights, ...(named !== undefined && { route }) },
      };
    },

    async 'gateway.getRoutePolicy'({ target, params }) {
      const { route } = parseParams('gateway.getRoutePolicy', params);
      const document = await callGateway(() => gateway.getRoutePolicy(scopeOf(target, route)));
      return { ...document.effective };
    },

    async 'gateway.getTenantQuota'({ target }) {
      const tenant = tenantOf('gateway.getTenantQuota', target);
      const document = await callGateway(() => gateway.getTenantQuota(tenant));
      return { ...document.quota };
    },

    async 'gateway.getRegionWeights'({ target, params }) {
      const { route } = scopeOf(target, parseParams('gateway.getRegionWeights', params).route);
      const document = await callGateway(() => gateway.getRegionWeights(route));
      return regionFacts(document.weights);
    },
  };
}
