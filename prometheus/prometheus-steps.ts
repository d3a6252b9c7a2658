// The checks a playbook step may run against Prometheus (prometheus/prometheus-activities.ts implements them).
import { z } from 'zod';
import { TARGET_KIND_NAMES } from '../alerts/target';
import type { StepSpec } from '../playbook/step-spec';

export const PROMETHEUS_CHECKS = {
  'prometheus.query': {
    description:
      'Evaluates a PromQL expression that gives one number now; facts: <step id>.value (null when it gives no series)',
    targets: TARGET_KIND_NAMES,
    params: z
      .object({
        query: z
          .string()
          .min(1)
          .describe(
            'PromQL giving at most one series, e.g. sum(rate(inference_cost_usd_total{route="{{ labels.route }}"}[5m])) * 3600',
          ),
      })
      .strict(),
  },
} as const satisfies Record<string, StepSpec>;
