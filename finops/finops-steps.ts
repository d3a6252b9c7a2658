// The FinOps checks a playbook step may run (finops/finops-activities.ts implements them).
import { z } from 'zod';
import type { StepSpec } from '../playbook/step-spec';

export const FINOPS_CHECKS = {
  'finops.scaleOutBudget': {
    description:
      "Whether the budget allows adding replicas to the target deployment: the month-end spend forecast plus the scale-out's GPU cost against the budget less its headroom; facts <step id>.allowed, .forecastUsd, .scaleOutUsd, .limitUsd, .reason",
    targets: ['deployment'],
    params: z
      .object({
        budget: z.string().min(1).describe('the name of a budget in the config (finops.budgets), e.g. platform'),
        addReplicas: z.number().int().min(1).describe('the replicas the scale-out adds, e.g. 4'),
        expectedHours: z
          .number()
          .positive()
          .max(24 * 31)
          .describe('how long the extra replicas are expected to run, in hours, e.g. 6'),
      })
      .strict(),
  },
} as const satisfies Record<string, StepSpec>;
