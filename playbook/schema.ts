// The playbook format: YAML files in playbooks/, validated by this schema before anything runs.
import { z } from 'zod';
import { parseMatcher } from '../alerts/matchers';
import { TARGET_KIND_NAMES } from '../alerts/target';
import { durationSchema } from '../validation/duration';
import { ACTION_NAMES } from './actions';

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

const actionStepSchema = z
  .object({
    id: slug.describe('a step id unique in the playbook: lower-case letters, digits and dashes'),
    description: z.string().min(1).optional().describe('what the step does, in words, for the audit'),
    action: z.enum(ACTION_NAMES).describe(`one of the registered actions: ${ACTION_NAMES.join(', ')}`),
    params: z
      .record(z.string(), z.unknown())
      .default({})
      .describe('the action\'s parameters; strings may use {{ labels.NAME }} and {{ annotations.NAME }}'),
  })
  .strict();

export const playbookSchema = z
  .object({
    name: slug.describe("the playbook's name: lower-case letters, digits and dashes, unique across playbooks/"),
    description: z.string().min(1).describe('what the playbook is for, in a sentence'),
    severity: z.enum(['S1', 'S2', 'S3']).describe('S1 (most severe), S2 or S3'),
    match: z.array(matcherSchema).min(1).describe('label matchers; an alert runs this playbook when it matches all of them'),
    target: z.enum(TARGET_KIND_NAMES).describe(`what the playbook acts on: ${TARGET_KIND_NAMES.join(', ')}`),
    cooldown: durationSchema.optional().describe('how long the alert must stay resolved before rollback, e.g. 10m (default: engine.cooldown)'),
    steps: z
      .array(actionStepSchema)
      .min(1)
      .refine((steps) => new Set(steps.map((s) => s.id)).size === steps.length, { message: 'step ids must be unique' })
      .describe('the steps, run in order'),
  })
  .strict();

export type PlaybookSpec = z.output<typeof playbookSchema>;
export type ActionStep = PlaybookSpec['steps'][number];

/** A playbook as loaded from its file: the spec plus where it came from and its digest. */
export interface Playbook {
  file: string;
  digest: string;
  spec: PlaybookSpec;
}
