// Actions and checks on the LLM gateway, through the GatewayAdapter (the Control API client by default).
import { ApplicationFailure } from '@temporalio/common';
import type { Target } from '../alerts/target';
import { GatewayError, type GatewayAdapter } from '../gateway/adapter';
import type { PolicyScope, RoutePolicyPatch } from '../gateway/control-api';
import { protectedRouteRefusal, REFUSED_BY_GUARDRAILS, withFailMode, type Guardrails } from '../safety/guardrails';
import { parseParams, type ActionActivity, type CheckActivity } from './action';

const scopeOf = ({ labels }: Target): PolicyScope => (labels.tenant ? { route: labels.route!, tenant: labels.tenant } : { route: labels.route! });

const describeScope = ({ route, tenant }: PolicyScope) => (tenant ? `route ${route} (tenant ${tenant})` : `route ${route}`);

const show = (value: unknown) => (value === null || value === undefined ? 'unset' : JSON.stringify(value));

async function callGateway<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof GatewayError) {
      throw error.retryable
        ? ApplicationFailure.retryable(error.message, 'GatewayUnavailable')
        : ApplicationFailure.nonRetryable(error.message, 'GatewayRejected', { status: error.status });
    }
    throw error;
  }
}

export interface GatewayActivities {
  'gateway.setRoutePolicy': ActionActivity;
  'gateway.getRoutePolicy': CheckActivity;
}

export function createGatewayActivities(gateway: GatewayAdapter, guardrails: Guardrails): GatewayActivities {
  return {
    async 'gateway.setRoutePolicy'({ target, params, idempotencyKey, purpose, dryRun }) {
      const scope = scopeOf(target);
      let policy: RoutePolicyPatch = parseParams('gateway.setRoutePolicy', params).policy;
      if (purpose === 'apply') {
        const refusal = protectedRouteRefusal(scope.route, policy, guardrails);
        if (refusal) throw ApplicationFailure.nonRetryable(refusal, REFUSED_BY_GUARDRAILS);
        policy = withFailMode(scope.route, policy, guardrails);
      }
      const fields = Object.keys(policy) as Array<keyof RoutePolicyPatch>;
      const describe = (previous: Partial<Record<string, unknown>>) =>
        `${describeScope(scope)}: ${fields.map((field) => `${field} ${show(previous[field])} → ${show(policy[field])}`).join(', ')}`;

      if (dryRun) {
        const current = await callGateway(() => gateway.getRoutePolicy(scope));
        const previous = Object.fromEntries(fields.map((field) => [field, current.policy[field] ?? null]));
        return { summary: `would set ${describe(previous)}`, previous, undo: null };
      }
      const change = await callGateway(() => gateway.patchRoutePolicy(scope, policy, { idempotencyKey }));
      return {
        summary: describe(change.previous),
        previous: change.previous,
        undo: { action: 'gateway.setRoutePolicy', params: { policy: Object.fromEntries(fields.map((field) => [field, change.previous[field] ?? null])) } },
      };
    },

    async 'gateway.getRoutePolicy'({ target }) {
      const document = await callGateway(() => gateway.getRoutePolicy(scopeOf(target)));
      return { ...document.effective };
    },
  };
}
