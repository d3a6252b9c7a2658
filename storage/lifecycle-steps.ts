// The S3 lifecycle actions and checks a playbook step may name (storage/lifecycle-activities.ts implements them).
import { z } from 'zod';
import type { Target } from '../alerts/target';
import type { ActionSpec, StepSpec } from '../playbook/step-spec';

const bucketObject = ({ labels }: Target) => [`s3/${labels.bucket ?? ''}`];

/** Prefix of every lifecycle rule ID the engine writes, so its rules are recognisable on a bucket. */
export const RULE_ID_NAMESPACE = 'finops-soar:';

/** Storage classes a lifecycle Transition may name (S3's TransitionStorageClass). */
export const TRANSITION_STORAGE_CLASSES = [
  'STANDARD_IA',
  'ONEZONE_IA',
  'INTELLIGENT_TIERING',
  'GLACIER_IR',
  'GLACIER',
  'DEEP_ARCHIVE',
] as const;

// S3 refuses a transition to the infrequent-access classes before an object is 30 days old.
const MINIMUM_TRANSITION_DAYS: Partial<Record<(typeof TRANSITION_STORAGE_CLASSES)[number], number>> = {
  STANDARD_IA: 30,
  ONEZONE_IA: 30,
};

// S3 allows 255 characters in a rule ID, the namespace included.
const MAX_RULE_ID_LENGTH = 255 - RULE_ID_NAMESPACE.length;

const transitionSchema = z
  .object({
    days: z
      .number()
      .int()
      .min(0)
      .describe('days after creation when objects move, an integer >= 0 (>= 30 for STANDARD_IA and ONEZONE_IA)'),
    storageClass: z
      .enum(TRANSITION_STORAGE_CLASSES)
      .describe(`the class objects move to: ${TRANSITION_STORAGE_CLASSES.join(', ')}`),
  })
  .strict()
  .superRefine(({ days, storageClass }, context) => {
    const minimum = MINIMUM_TRANSITION_DAYS[storageClass];
    if (minimum !== undefined && days < minimum) {
      context.addIssue({
        code: 'custom',
        path: ['days'],
        message: `S3 moves objects to ${storageClass} no earlier than ${minimum} days after creation, not ${days}`,
      });
    }
  });

const lifecycleRuleParamsSchema = z
  .object({
    id: z
      .string()
      .min(1)
      .max(MAX_RULE_ID_LENGTH)
      .regex(
        /^[A-Za-z0-9][A-Za-z0-9._-]*$/,
        'use letters, digits, dots, dashes and underscores, starting with a letter or digit',
      )
      .describe(`the rule's name, unique in the step; written to S3 as ${RULE_ID_NAMESPACE}<id>`),
    prefix: z
      .string()
      .max(1024)
      .optional()
      .describe('the key prefix the rule applies to, e.g. logs/; unset: the whole bucket'),
    transitions: z
      .array(transitionSchema)
      .default([])
      .describe('when objects move to cheaper storage classes, e.g. [{days: 30, storageClass: STANDARD_IA}]'),
    expirationDays: z
      .number()
      .int()
      .min(1)
      .optional()
      .describe('days after creation when objects are deleted, an integer >= 1'),
  })
  .strict()
  .superRefine((rule, context) => {
    if (rule.transitions.length === 0 && rule.expirationDays === undefined) {
      context.addIssue({
        code: 'custom',
        path: ['transitions'],
        message: 'the rule does nothing: give at least one transition or expirationDays',
      });
    }
    const classes = rule.transitions.map((transition) => transition.storageClass);
    classes.forEach((storageClass, index) => {
      if (classes.indexOf(storageClass) !== index) {
        context.addIssue({
          code: 'custom',
          path: ['transitions', index, 'storageClass'],
          message: `${storageClass} appears twice; S3 allows one transition per storage class`,
        });
      }
    });
    rule.transitions.forEach((transition, index) => {
      if (rule.expirationDays !== undefined && transition.days >= rule.expirationDays) {
        context.addIssue({
          code: 'custom',
          path: ['transitions', index, 'days'],
          message: `objects expire after ${rule.expirationDays} days, so a transition at ${transition.days} days never happens; S3 refuses it`,
        });
      }
    });
  });

export type LifecycleRuleParams = z.output<typeof lifecycleRuleParamsSchema>;

// A rule as S3 stores it (any field S3 knows), restored verbatim; S3 itself validates it again.
const storedRuleSchema = z.looseObject({ ID: z.string().optional(), Status: z.enum(['Enabled', 'Disabled']) });

const lifecycleConfigurationSchema = z
  .object({
    rules: z.array(storedRuleSchema).min(1),
    transitionDefaultMinimumObjectSize: z.string().optional(),
  })
  .strict();

export const STORAGE_ACTIONS = {
  'storage.addLifecycleRules': {
    objects: bucketObject,
    // An expiration deletes objects for good.
    destructive: ({ rules }: { rules: Array<{ expirationDays?: number }> }) =>
      rules.some(({ expirationDays }) => expirationDays !== undefined),
    description:
      "Add lifecycle rules to the target bucket (IDs namespaced finops-soar:<id>), keeping every rule already there; undone by restoring the bucket's previous lifecycle configuration, or none",
    targets: ['bucket'],
    params: z
      .object({
        rules: z
          .array(lifecycleRuleParamsSchema)
          .min(1)
          .describe(
            'the rules to add, e.g. [{id: cold-logs, prefix: logs/, transitions: [{days: 30, storageClass: STANDARD_IA}]}]',
          ),
      })
      .strict()
      .superRefine(({ rules }, context) => {
        const ids = rules.map((rule) => rule.id);
        ids.forEach((id, index) => {
          if (ids.indexOf(id) !== index)
            context.addIssue({
              code: 'custom',
              path: ['rules', index, 'id'],
              message: `rule id ${id} appears twice; ids must be unique`,
            });
        });
      }),
  },
  'storage.restoreLifecycle': {
    objects: bucketObject,
    description:
      "Undo of storage.addLifecycleRules: remove the engine's rules it added and put back the bucket's previous lifecycle configuration (delete it when there was none), keeping any rule others changed since",
    targets: ['bucket'],
    params: z
      .object({
        previous: lifecycleConfigurationSchema
          .nullable()
          .describe('the configuration before the change, or null when the bucket had none'),
        remove: z
          .array(z.string().startsWith(RULE_ID_NAMESPACE))
          .min(1)
          .describe(`the IDs of the rules the change added, each starting with ${RULE_ID_NAMESPACE}`),
      })
      .strict(),
  },
} as const satisfies Record<string, ActionSpec>;

export const STORAGE_CHECKS = {
  'storage.getLifecycle': {
    description:
      "The target bucket's lifecycle rules; facts <step id>.ruleCount and <step id>.ruleIds (0 and [] when it has no configuration)",
    targets: ['bucket'],
    params: z.object({}).strict(),
  },
} as const satisfies Record<string, StepSpec>;
