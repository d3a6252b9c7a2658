// Actions on the LLM gateway, through the GatewayAdapter (the Control API client by default).
import { ApplicationFailure } from '@temporalio/common';
import type { Target } from '../alerts/target';
import { GatewayError, type GatewayAdapter } from '../gateway/adapter';
import type { PolicyScope } from '../gateway/control-api';
import { parseParams, type ActionActivity } from './action';

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

export function createGatewayActivities(gateway: GatewayAdapter): { 'gateway.setRoutePolicy': ActionActivity } {
  return {
    async 'gateway.setRoutePolicy'({ target, params, idempotencyKey }) {
      const { policy } = parseParams('gateway.setRoutePolicy', params);
      const scope = scopeOf(target);
      const change = await callGateway(() => gateway.patchRoutePolicy(scope, policy, { idempotencyKey }));
      const fields = Object.keys(policy) as Array<keyof typeof policy>;
      const changes = fields.map((field) => `${field} ${show(change.previous[field])} → ${show(policy[field])}`);
      return {
        summary: `${describeScope(scope)}: ${changes.join(', ')}`,
        previous: change.previous,
        undo: { action: 'gateway.setRoutePolicy', params: { policy: Object.fromEntries(fields.map((field) => [field, change.previous[field] ?? null])) } },
      };
    },
  };
}
