// The gateway's actions and checks a playbook step may name (activities/gateway.ts implements them).
import { z } from 'zod';
import type { StepSpec } from '../playbook/step-spec';
import { routePolicyPatchSchema } from './control-api';

export const GATEWAY_ACTIONS = {
  'gateway.setRoutePolicy': {
    description: "Change the target route's gateway policy (for the alert's tenant when it has one); undone by restoring the previous values",
    targets: ['route'],
    params: z.object({ policy: routePolicyPatchSchema.describe('the policy fields to set, e.g. {maxInputTokens: 4096}') }).strict(),
  },
} as const satisfies Record<string, StepSpec>;

export const GATEWAY_CHECKS = {
  'gateway.getRoutePolicy': {
    description: "The policy the target route (and tenant) effectively gets; its fields become facts, e.g. <step id>.maxInputTokens",
    targets: ['route'],
    params: z.object({}).strict(),
  },
} as const satisfies Record<string, StepSpec>;
