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

// S3 allows 255 characters in a rule ID, the namespace included
// (https://docs.aws.amazon.com/AmazonS3/latest/API/API_LifecycleRule.html); the id's characters are ASCII.
export const MAX_S3_RULE_ID = 255;
const MAX_RULE_ID_LENGTH = MAX_S3_RULE_ID - RULE_ID_NAMESPACE.length;

// S3's general purpose bucket names (https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html).
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const RESERVED_BUCKET_PREFIXES = ['xn--', 'sthree-', 'amzn-s3-demo-'];
const RESERVED_BUCKET_SUFFIXES = ['-s3alias', '--ol-s3', '.mrap', '--x-s3', '--table-s3'];

/**
 * The rule `bucket` breaks as an S3 bucket name, or null when S3 accepts it. The name comes from an alert's bucket
 * label and goes into the request's path (or host name), where "a/b", "..", "?" or "#" would address something else.
 */
export function s3BucketNameProblem(bucket: string): string | null {
  if (!BUCKET_NAME.test(bucket))
    return 'an S3 bucket name has 3 to 63 lowercase letters, digits, "." and "-", starting and ending with a letter or digit';
  if (bucket.includes('..')) return 'an S3 bucket name has no two adjacent periods';
  if (/^\d+\.\d+\.\d+\.\d+$/.test(bucket)) return 'an S3 bucket name is not formatted as an IP address';
  const prefix = RESERVED_BUCKET_PREFIXES.find((reserved) => bucket.startsWith(reserved));
  if (prefix) return `an S3 bucket name does not start with the reserved prefix ${prefix}`;
  const suffix = RESERVED_BUCKET_SUFFIXES.find((reserved) => bucket.endsWith(reserved));
  if (suffix) return `an S3 bucket name does not end with the reserved suffix ${suffix}`;
  return null;
}

// An object key (and so a rule's prefix) is at most 1024 bytes of UTF-8
// (https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-keys.html), and the lifecycle configuration is XML
// 1.0, which cannot carry most control characters at all, escaped or not (https://www.w3.org/TR/xml/#charsets).
const MAX_PREFIX_BYTES = 1024;
const NOT_XML_TEXT = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;

/** UTF-8 length, without Buffer: workflow code reaches this module (through playbook/step-registry.ts). */
function utf8Bytes(text: string): number {
  let bytes = 0;
  for (const char of text) {
    const code = char.codePointAt(0)!;
    bytes += code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4;
  }
  return bytes;
}

/** The rule a lifecycle prefix (possibly templated from labels) breaks, or null when S3 can store it. */
export function s3PrefixProblem(prefix: string): string | null {
  if (utf8Bytes(prefix) > MAX_PREFIX_BYTES)
    return `a prefix is at most ${MAX_PREFIX_BYTES} bytes of UTF-8 (an S3 object key)`;
  // The SDK reads a whitespace-only XML text with a line break back as "" (the whole bucket): refused, so a rule read
  // back (to compare, or to re-apply after an undo) is the rule written.
  if (prefix !== '' && prefix.trim() === '') return 'a prefix is not only whitespace';
  if (NOT_XML_TEXT.test(prefix))
    return 'a prefix cannot hold control characters (other than tab, newline and carriage return) or U+FFFE/U+FFFF: S3 lifecycle rules travel as XML 1.0';
  return null;
}

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
      .superRefine((prefix, context) => {
        const problem = s3PrefixProblem(prefix);
        if (problem) context.addIssue({ code: 'custom', message: problem });
      })
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
          .array(z.string().startsWith(RULE_ID_NAMESPACE).max(MAX_S3_RULE_ID))
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
