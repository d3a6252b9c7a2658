// What playbook steps may name: actions (change something, reversibly) and checks (read a fact).
// The activity of the same name implements each one (activities/).
import { z } from 'zod';
import type { TargetKindName } from '../alerts/target';
import { routePolicyPatchSchema } from '../gateway/control-api';

interface StepSpec {
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
} as const satisfies Record<string, StepSpec>;

export const CHECKS = {
  'gateway.getRoutePolicy': {
    description: "The policy the target route (and tenant) effectively gets; its fields become facts, e.g. <step id>.maxInputTokens",
    targets: ['route'],
    params: z.object({}).strict(),
  },
} as const satisfies Record<string, StepSpec>;

export type ActionName = keyof typeof ACTIONS;
export type CheckName = keyof typeof CHECKS;
export const ACTION_NAMES = Object.keys(ACTIONS) as [ActionName, ...ActionName[]];
export const CHECK_NAMES = Object.keys(CHECKS) as [CheckName, ...CheckName[]];
export type ActionParams<Name extends ActionName> = z.output<(typeof ACTIONS)[Name]['params']>;

/** The spec of the action or check a step names. */
export const stepSpec = (name: ActionName | CheckName): StepSpec => (name in ACTIONS ? ACTIONS[name as ActionName] : CHECKS[name as CheckName]);
