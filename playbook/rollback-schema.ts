// How a playbook's changes come back once the alert has stayed resolved (DESIGN.md, "Rollback that holds"): all at
// once (no `rollback`), or in stages, each watched against a guard metric for a stabilisation window. A resolved
// alert means the mitigation works, not that it is no longer needed: a breach or a re-fire during the rollback puts
// the last stage back and holds, longer each time, before it tries again.
import { z } from 'zod';
import { durationSchema } from '../validation/duration';
import { CHECK_NAMES } from './step-registry';

const stepId = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'a step id of this playbook');

const stageSchema = z
  .object({
    undo: z
      .array(stepId)
      .min(1)
      .describe('the steps this stage brings back, in this order, e.g. [shift-chat-to-eu, scale-out]'),
    by: z
      .number()
      .gt(0)
      .max(1)
      .default(1)
      .describe(
        'how far back toward what was there before, in all: 0.5 is half way (14 → 12 replicas where 10 were), 1 all the way (default)',
      ),
  })
  .strict();

const guardSchema = z
  .object({
    measure: z
      .object({
        check: z.enum(CHECK_NAMES).describe(`the check that gives the value: ${CHECK_NAMES.join(', ')}`),
        params: z
          .record(z.string(), z.unknown())
          .optional()
          .describe("the check's parameters; strings may use {{ labels.NAME }} and {{ annotations.NAME }}"),
        fact: z
          .string()
          .regex(/^[A-Za-z0-9_]+$/)
          .default('value')
          .describe("the field of the check's facts to compare (default: value)"),
      })
      .strict(),
    breaksAbove: z.number().optional().describe('the guard breaks when the value is above this, e.g. 0.9 utilisation'),
    breaksBelow: z.number().optional().describe('the guard breaks when the value is below this, e.g. 0.3 hit ratio'),
    every: durationSchema.prefault('1m').describe('how often to measure during a stage (default: 1m)'),
  })
  .strict()
  .refine((guard) => (guard.breaksAbove === undefined) !== (guard.breaksBelow === undefined), {
    message: 'give exactly one of breaksAbove or breaksBelow',
  });

export const rollbackSchema = z
  .object({
    stages: z
      .array(stageSchema)
      .min(1)
      .describe(
        'the stages, in order; changes no stage names come back first, at once, as a stage of their own. A step may appear in several stages with a rising `by`, the last at 1',
      ),
    stabilise: durationSchema
      .prefault('5m')
      .describe('how long each stage is watched before the next (default: 5m), as the HPA stabilises a scale-down'),
    guard: guardSchema
      .optional()
      .describe('the metric that must hold during each stage; without one, only a re-fire stops the rollback'),
    hold: durationSchema
      .prefault('15m')
      .describe('after a breach or a re-fire, how long to hold before trying the stage again (default: 15m)'),
    maxHold: durationSchema.prefault('2h').describe('the hold doubles after each breach, up to this (default: 2h)'),
  })
  .strict();

export type RollbackSpec = z.output<typeof rollbackSchema>;
