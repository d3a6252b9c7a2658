// All activities, built from the clients they need so tests and workers inject their own.
import type { GatewayAdapter } from '../gateway/adapter';
import type { ActionName } from '../playbook/actions';
import type { ActionActivity } from './action';
import { createGatewayActivities } from './gateway';

export interface ActivityDeps {
  gateway: GatewayAdapter;
}

/** Every registered action has an activity of the same name (checked by the type). */
export type Activities = Record<ActionName, ActionActivity>;

export function createActivities({ gateway }: ActivityDeps): Activities {
  return { ...createGatewayActivities(gateway) };
}
