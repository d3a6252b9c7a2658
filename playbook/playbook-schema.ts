// The playbook format: YAML files in playbooks/, validated by this schema before anything runs.
import { z } from 'zod';
import { parseMatcher } from '../alerts/matchers';
import { TARGET_KIND_NAMES } from '../alerts/target';
import { durationSchema } from '../validation/duration';
import { rollbackSchema } from './rollback-schema';
import { ACTION_NAMES, CHECK_NAMES } from './step-registry';

const slug = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,62}$/)
  .describe('lower-case letters, digits and dashes, at most 63 characters');

const matcherSchema = z
  .string()
  .transform((text, ctx) => {
    try {
      return parseMatcher(text);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: (error as Error).message });
      return z.NEVER;
    }
  })
  .describe('an Alertmanager label matcher, e.g. alertname="LLMInputTokensPerRequestHigh" or severity=~"S1|S2"');

const SEVERITIES = ['S1', 'S2', 'S3'] as const;
export type Severity = (typeof SEVERITIES)[number];

const templated = (what: string) =>
  z.string().min(1).describe(`${what}; may use {{ labels.NAME }} and {{ annotations.NAME }}`);

/** A fact gathered by an earlier check step: `<step id>.<field>`, e.g. `current-policy.maxInputTokens`. */
const factComparisonSchema = z
  .object({
    fact: z
      .string()
      .regex(/^[a-z0-9][a-z0-9-]*(\.[A-Za-z0-9_]+)+$/)
      .describe('a fact from an earlier check step: <step id>.<field>, e.g. current-policy.maxInputTokens'),
    above: z.number().optional().describe('true when the fact is a number greater than this'),
    below: z.number().optional().describe('true when the fact is a number less than this'),
    equals: z
      .union([z.string(), z.number(), z.boolean(), z.null()])
      .optional()
      .describe('true when the fact equals this value'),
  })
  .strict()
  .refine((c) => [c.above, c.below, c.equals].some((v) => v !== undefined), {
    message: 'say what to compare with: above, below or equals',
  });

/** When a step runs: every condition given must hold. A closed set of predicates, never code. */
const conditionSchema = z
  .object({
    labels: z.array(matcherSchema).min(1).optional().describe("label matchers the run's alert must satisfy"),
    severity: z
      .enum(SEVERITIES)
      .optional()
      .describe("the run's current severity must be this or more severe (S1 is the most severe)"),
    facts: z
      .array(factComparisonSchema)
      .min(1)
      .optional()
      .describe('comparisons with facts gathered by earlier check steps'),
  })
  .strict()
  .refine((c) => c.labels ?? c.severity ?? c.facts, { message: 'an empty condition: give labels, severity or facts' });

const STEP_KINDS = [
  'action',
  'notify',
  'approval',
  'check',
  'waitUntilResolved',
  'warRoom',
  'adapt',
  'verify',
] as const;

/** A value from a check: the same shape wherever a step measures (adapt, verify). */
const measureSchema = z
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
  .strict();

/**
 * A feedback loop, e.g. adaptive throttling: while the alert fires, measure every `every` and
 * apply the level whose threshold the value is above (the highest one); below every threshold,
 * the values from before the step come back. The run undoes it like any action.
 */
const adaptSchema = z
  .object({
    every: durationSchema.describe('how often to measure and adjust while the alert fires, e.g. 2m'),
    measure: measureSchema,
    action: z.enum(ACTION_NAMES).describe(`the action each level applies: ${ACTION_NAMES.join(', ')}`),
    levels: z
      .array(
        z
          .object({
            above: z.number().describe('the level applies while the measured value is above this'),
            params: z
              .record(z.string(), z.unknown())
              .describe("the action's parameters at this level, setting the same fields at every level"),
          })
          .strict(),
      )
      .min(1)
      .refine((levels) => levels.every((level, i) => i === 0 || level.above > levels[i - 1]!.above), {
        message: 'list the levels by rising threshold (above)',
      })
      .describe('the levels, lowest threshold first, e.g. [{above: 2, params: …}, {above: 4, params: …}]'),
  })
  .strict();

/**
 * Verify after acting: did the steps before this one move the metric? Measured every `every`
 * until `within` passes. Moved: the playbook's remaining steps are not needed and are skipped.
 * Not moved: the run goes on to the next step, and after the last one escalates to the next tier
 * at once instead of waiting for `escalation.after`.
 */
const verifySchema = z
  .object({
    measure: measureSchema,
    expect: z
      .object({
        below: z.number().optional().describe('moved when the value is below this, e.g. 1500 tokens per request'),
        above: z.number().optional().describe('moved when the value is above this, e.g. 0.4 hit ratio'),
      })
      .strict()
      .refine((e) => (e.below === undefined) !== (e.above === undefined), {
        message: 'give exactly one of below or above',
      }),
    within: durationSchema.describe('how long the metric has to move, e.g. 10m'),
    every: durationSchema.prefault('1m').describe('how often to measure meanwhile (default: 1m)'),
  })
  .strict();

const stepSchema = z
  .object({
    id: slug.describe('a step id unique in the playbook: lower-case letters, digits and dashes'),
    description: z.string().min(1).optional().describe('what the step does, in words, for the audit'),
    when: conditionSchema
      .optional()
      .describe('run the step only when these conditions hold; otherwise it is skipped and the skip is recorded'),
    action: z
      .enum(ACTION_NAMES)
      .optional()
      .describe(`a registered action: ${ACTION_NAMES.join(', ')}`),
    params: z
      .record(z.string(), z.unknown())
      .optional()
      .describe("the action's or check's parameters; strings may use {{ labels.NAME }} and {{ annotations.NAME }}"),
    notify: z
      .object({
        to: z.array(z.string().min(1)).min(1).describe('who to tell: team or channel names, e.g. finops, product'),
        message: templated('the message'),
      })
      .strict()
      .optional(),
    approval: z
      .object({
        summary: templated('what the approver is asked to allow'),
        timeout: durationSchema.describe('how long to wait for a decision, e.g. 30m'),
        onTimeout: z
          .enum(['approve', 'reject'])
          .optional()
          .describe('the outcome when nobody decides in time (default: reject for S1 playbooks, approve otherwise)'),
        onReject: z
          .enum(['stop', 'rollback'])
          .default('stop')
          .describe(
            'stop: apply nothing more and keep what is applied until the alert resolves; rollback: undo everything now',
          ),
        to: z
          .array(z.string().min(1))
          .min(1)
          .default(['approvals'])
          .describe('where to ask: notify names, e.g. finops (default: approvals)'),
        approvalsNeeded: z
          .union([z.literal(1), z.literal(2)])
          .optional()
          .describe(
            'distinct approvers needed (default: 2 in an S1 playbook when a step it allows refuses traffic or defers work, else 1)',
          ),
        remindAfter: durationSchema
          .optional()
          .describe('when to remind the askers if nobody decided (default: half the timeout)'),
        escalate: z
          .object({
            after: durationSchema.describe('when to escalate if nobody decided, e.g. 8m'),
            mention: z.array(z.string().min(1)).default([]).describe('groups to mention, e.g. sre-oncall'),
            alsoTo: z.array(z.string().min(1)).default([]).describe('other places to ask, e.g. incidents'),
          })
          .strict()
          .optional()
          .describe('page more people before the timeout'),
      })
      .strict()
      .optional()
      .describe('wait for a person to approve the steps after this one'),
    check: z
      .enum(CHECK_NAMES)
      .optional()
      .describe(`a registered check that gathers a fact: ${CHECK_NAMES.join(', ')}`),
    waitUntilResolved: z
      .literal(true)
      .optional()
      .describe('true: wait here until the alert resolves (the later steps run after the resolution)'),
    warRoom: z
      .object({
        name: templated('the war-room name, e.g. inc-{{ labels.route }}'),
        invite: z.array(z.string().min(1)).min(1).describe('the groups to invite, e.g. sre, product'),
      })
      .strict()
      .optional(),
    adapt: adaptSchema
      .optional()
      .describe('adjust an action to a measured value while the alert fires, e.g. adaptive throttling'),
    verify: verifySchema
      .optional()
      .describe('check that the steps before moved the metric; if not, go on (and escalate after the last step)'),
    unsupported: z
      .literal('skip')
      .optional()
      .describe(
        'skip: on a gateway that cannot make this change (docs/gateways.md) the run skips the step and says why; without it, validate and start-up refuse the playbook on such a gateway',
      ),
  })
  .strict()
  .superRefine((step, ctx) => {
    const kinds = STEP_KINDS.filter((kind) => step[kind] !== undefined);
    if (kinds.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        message: `a step does exactly one thing: give one of ${STEP_KINDS.join(', ')} (found ${kinds.length === 0 ? 'none' : kinds.join(' and ')})`,
      });
    }
    if (step.params !== undefined && step.action === undefined && step.check === undefined) {
      ctx.addIssue({ code: 'custom', path: ['params'], message: 'params belong to an action or a check step' });
    }
    if (step.unsupported !== undefined && step.action === undefined && step.adapt === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['unsupported'],
        message: 'belongs to a step that changes something (action or adapt): only changes can be beyond a gateway',
      });
    }
  });

export type PlaybookStep = z.output<typeof stepSchema>;
export type Condition = z.output<typeof conditionSchema>;

export const playbookSchema = z
  .object({
    name: slug.describe("the playbook's name: lower-case letters, digits and dashes, unique across playbooks/"),
    description: z.string().min(1).describe('what the playbook is for, in a sentence'),
    severity: z.enum(SEVERITIES).describe('S1 (most severe), S2 or S3'),
    family: z
      .string()
      .regex(/^[a-z][a-z0-9-]*$/)
      .optional()
      .describe('the family for escalation, e.g. cost or capacity'),
    match: z
      .array(matcherSchema)
      .min(1)
      .optional()
      .describe(
        'label matchers; an alert runs this playbook when it matches all of them. Absent: the playbook runs only when started by hand',
      ),
    target: z.enum(TARGET_KIND_NAMES).describe(`what the playbook acts on: ${TARGET_KIND_NAMES.join(', ')}`),
    cooldown: durationSchema
      .optional()
      .describe('how long the alert must stay resolved before rollback, e.g. 10m (default: engine.cooldown)'),
    dryRun: z
      .boolean()
      .default(false)
      .describe('true: run every step and record what it would change, but change nothing'),
    escalation: z
      .object({
        after: durationSchema.describe(
          'how long the alert may keep firing after the steps before escalating, e.g. 30m',
        ),
        to: slug.describe('the name of the more severe playbook of the same family whose steps then run in this run'),
      })
      .strict()
      .optional(),
    savings: z
      .object({
        costRate: templated(
          'PromQL giving the target\'s cost in US dollars per hour, e.g. sum(rate(inference_cost_usd_total{route="{{ labels.route }}"}[5m])) * 3600',
        ).optional(),
        measure: measureSchema
          .optional()
          .describe(
            "instead of costRate, a check giving the target's cost in US dollars per hour, e.g. {check: finops.gpuCostRate, fact: usdPerHour} for a deployment's GPUs",
          ),
        every: durationSchema
          .prefault('5m')
          .describe('how often to sample it while changes are in force (default: 5m; at least the rate window)'),
        reportTo: z
          .array(z.string().min(1))
          .default([])
          .describe('who to tell what the run saved when it rolls back: notify names, e.g. finops'),
      })
      .strict()
      .refine((savings) => (savings.costRate === undefined) !== (savings.measure === undefined), {
        message: 'give exactly one of costRate (PromQL) or measure (a check)',
      })
      .optional()
      .describe(
        "attribute savings: the target's cost rate before the first change, sampled while changes are in force, and the dollars saved (negative: added, e.g. by a scale-out)",
      ),
    rollback: rollbackSchema
      .optional()
      .describe(
        'how the changes come back once the alert stayed resolved for the cooldown: in stages watched against a guard metric (absent: all at once, newest first)',
      ),
    steps: z
      .array(stepSchema)
      .min(1)
      .refine((steps) => new Set(steps.map((s) => s.id)).size === steps.length, { message: 'step ids must be unique' })
      .describe('the steps, run in order'),
  })
  .strict();

export type PlaybookSpec = z.output<typeof playbookSchema>;

/** A playbook as loaded from its file: the spec plus where it came from and its digest. */
export interface Playbook {
  file: string;
  digest: string;
  spec: PlaybookSpec;
}
