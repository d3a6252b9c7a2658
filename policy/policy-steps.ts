// The policy checks a playbook step may run (policy/policy-activities.ts implements them). The tier
// check measures what the tier policy needs in Prometheus and asks it (OPA when configured, else
// the built-in rules), so a playbook's tier steps follow the policy rather than a fixed choice.
import { z } from 'zod';
import type { StepSpec } from '../playbook/step-spec';

/** The model tiers the tier policy chooses from, from the most to the least expensive. */
export const TIERS = ['premium', 'standard', 'distilled'] as const;

// Whole seconds and more, in the units both PromQL and validation/duration.ts read.
const promqlDuration = z.string().regex(/^(\d+(s|m|h|d))+$/, 'a PromQL duration such as 30m, 1h or 90s');

export const POLICY_CHECKS = {
  'policy.tier': {
    description:
      "Which model tier the target route (for the alert's tenant when it has one), or params.route, should be served from, given the budget's burn rate and the p95 latency of the route on each tier, measured in Prometheus over params.window; OPA decides when configured, else the built-in rules. Facts <step id>.tier, .changes (true when it differs from .currentTier), .cheaper (true when it is a cheaper tier than .currentTier), .allowed, .burnRate, .p95LatencyMs, .tierP95LatencyMs (.tierLatencyFrom: measured or expected), .reason, .source and .decisionId",
    targets: ['route'],
    namedBy: { param: 'route', targets: ['deployment'] },
    params: z
      .object({
        route: z
          .string()
          .min(1)
          .optional()
          .describe(
            'the route to ask about, for the whole route (every tenant); needed when the target is not a route',
          ),
        budget: z
          .string()
          .min(1)
          .describe(
            'the budget in finops.budgets whose burn rate counts (1 spends it exactly in 30 days), e.g. platform',
          ),
        latencySloMs: z.number().positive().describe("the route's p95 latency objective in milliseconds, e.g. 4000"),
        window: promqlDuration
          .default('30m')
          .describe('how far back the burn rate and the latencies are measured (default 30m)'),
        expectedP95LatencyMs: z
          .partialRecord(z.enum(TIERS), z.number().positive())
          .default({})
          .describe(
            'the p95 latency to expect on a tier no tenant of the route was served from in the window (measured wins), e.g. {distilled: 6000}; a tier with neither is never chosen',
          ),
      })
      .strict(),
  },
} as const satisfies Record<string, StepSpec>;
