// finops.capa: which runs open a CAPA, who hears of it and how often they are reminded, and who may close one.
import { z } from 'zod';
import { durationSchema } from '../validation/duration';

export const DEFAULT_CAPA_REMIND_EVERY_MS = 86_400_000;

export const capaSettingsSchema = z
  .object({
    families: z
      .array(z.string().min(1))
      .default(['cost'])
      .describe('the playbook families whose every run opens a CAPA, e.g. [cost]; [] opens none'),
    notify: z
      .array(z.string().min(1))
      .min(1)
      .default(['finops'])
      .describe('where a CAPA is posted and who is reminded until it has an owner: notify names, e.g. finops'),
    remindEvery: durationSchema
      .refine((ms) => ms >= 60_000, 'at least 1m: a reminder a second is noise')
      .default(DEFAULT_CAPA_REMIND_EVERY_MS)
      .describe('how often the owner is reminded while a CAPA is open, e.g. 1d'),
    closers: z
      .array(z.string().min(1))
      .min(1)
      .optional()
      .describe(
        "who may close a CAPA: user ids (U…), user groups (names or S… ids) or * (absent: whoever may approve its playbook's steps at its severity, approvals.approvers)",
      ),
  })
  .strict()
  .describe('a CAPA (corrective and preventive action) for every run of a cost playbook (docs/capa.md)');

export type CapaSettings = z.output<typeof capaSettingsSchema>;
