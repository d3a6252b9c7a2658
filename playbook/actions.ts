// The actions a playbook step may name: their parameters and the targets they act on. The
// activity of the same name implements each one (activities/), and returns how to undo it.
import { z } from 'zod';
import type { TargetKindName } from '../alerts/target';
import { routePolicyPatchSchema } from '../gateway/control-api';

interface ActionSpec {
  description: string;
  targets: readonly TargetKindName[];
  params: z.ZodType;
}

export const ACTIONS = {
  'gateway.setRoutePolicy': {
    description: "Change the target route's gateway policy (for the alert's tenant when it has one); undone by restoring the previous values",
    targets: ['route'],
    params: z.object({ policy: routePolicyPatchSchema.describe('the policy fields to set, e.g. {maxInputTokens: 4096}') }).strict(),
  },
} as const satisfies Record<string, ActionSpec>;

export type ActionName = keyof typeof ACTIONS;
export const ACTION_NAMES = Object.keys(ACTIONS) as [ActionName, ...ActionName[]];
export type ActionParams<Name extends ActionName> = z.output<(typeof ACTIONS)[Name]['params']>;
