// The FinOps checks a playbook step may run (finops/finops-activities.ts implements them).
import { z } from 'zod';
import { TARGET_KIND_NAMES } from '../alerts/target';
import type { StepSpec } from '../playbook/step-spec';

export const FINOPS_CHECKS = {
  'finops.scaleOutBudget': {
    description:
      "Whether the budget allows adding replicas to the target deployment: the month-end spend forecast's high side plus the scale-out's GPU cost against the budget less its headroom; facts <step id>.allowed, .forecastUsd, .forecastLowUsd, .forecastHighUsd, .scaleOutUsd, .limitUsd, .reason",
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
  'finops.burnRate': {
    description:
      "A budget's burn rate over the window: its spend rate over the pace that spends it exactly in 30 days (1 = on pace), as the budget alerts measure it; e.g. a verify step's measure after cheaper requests. Facts <step id>.burnRate",
    targets: TARGET_KIND_NAMES,
    params: z
      .object({
        budget: z.string().min(1).describe('the name of a budget in the config (finops.budgets), e.g. acme'),
        window: z
          .string()
          .regex(/^(\d+(s|m|h|d))+$/, 'a PromQL duration such as 30m, 1h or 90s')
          .default('5m')
          .describe('how far back the spend rate is measured (default 5m)'),
      })
      .strict(),
  },
  'finops.gpuCostRate': {
    description:
      "What the target deployment's GPUs cost now, in US dollars per hour: spec.replicas × the GPUs each pod asks for (nvidia.com/gpu) × finops.gpuHourlyUsd, read from Kubernetes; a capacity playbook's savings measure (a scale-out shows as money added). Facts <step id>.usdPerHour, .replicas, .gpusPerReplica, .gpuHourlyUsd",
    targets: ['deployment'],
    params: z.object({}).strict(),
  },
} as const satisfies Record<string, StepSpec>;
