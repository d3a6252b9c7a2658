// The reviews' configuration (docs/reviews.md): when the weekly forecast review and the quarterly lifecycle review
// run, who hears them, and what cold storage costs. The blocks are optional in the config file: absent, the defaults
// below apply (reviewSettings), so a config with budgets gets a weekly review on Mondays at 09:00 UTC.
import { z } from 'zod';

export const WEEKDAYS = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

/** Whether the runtime (and so the Temporal server, which reads the same IANA database) knows the zone. */
function knownTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

const at = z
  .string()
  .regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'a time of day as HH:MM on the 24-hour clock, e.g. "09:00" (quote it in YAML)')
  .describe('the time of day, HH:MM on the 24-hour clock, e.g. "09:00"');
const timezone = z
  .string()
  .min(1)
  .refine(knownTimeZone, 'not an IANA time zone name; write one such as UTC, Europe/Paris or America/New_York')
  .describe('an IANA time zone name for day and at, e.g. Europe/Paris (default UTC)');
const day = z
  .enum(WEEKDAYS)
  .describe('the day of the week, lower case: monday, tuesday, wednesday, thursday, friday, saturday or sunday');
const notify = z
  .array(z.string().min(1))
  .min(1, 'name at least one notify name, e.g. [finops]')
  .describe('who hears the review: notify names (mapped to Slack channels by slack.channels), e.g. [finops]');

/** When one budget's weekly review runs, overriding finops.reviews.weekly. */
export const budgetReviewSchema = z
  .object({ day: day.optional(), at: at.optional(), timezone: timezone.optional() })
  .strict()
  .describe('this budget\'s weekly review time, overriding finops.reviews.weekly, e.g. {day: friday, at: "16:00"}');

export const weeklyReviewSchema = z
  .object({
    enabled: z
      .union([z.boolean(), z.stringbool()])
      .default(true)
      .describe('false: no weekly review is scheduled (they still run by hand: finops-soar review weekly --now)'),
    day: day.default('monday'),
    at: at.default('09:00'),
    timezone: timezone.default('UTC'),
    notify: notify.default(['finops']),
    top: z.coerce
      .number()
      .int()
      .min(1)
      .max(50)
      .default(5)
      .describe('how many tenants and routes the review lists by spend, e.g. 5'),
  })
  .strict()
  .describe('the weekly forecast review of every budget (docs/reviews.md)');

export const reviewsSchema = z
  .object({ weekly: weeklyReviewSchema.prefault({}) })
  .strict()
  .describe('scheduled reviews of the budgets (docs/reviews.md)');

/**
 * What a GB-month costs in each storage class, in US dollars: AWS S3's list prices in us-east-1 (the first 50 TB,
 * https://aws.amazon.com/s3/pricing/, read 2026-12). Set storage.review.pricesPerGbMonth to your region's or your
 * contract's.
 */
export const DEFAULT_PRICES_PER_GB_MONTH: Record<string, number> = {
  STANDARD: 0.023,
  INTELLIGENT_TIERING: 0.023,
  STANDARD_IA: 0.0125,
  ONEZONE_IA: 0.01,
  GLACIER_IR: 0.004,
  GLACIER: 0.0036,
  DEEP_ARCHIVE: 0.00099,
};

const storageClass = z
  .string()
  .regex(/^[A-Z][A-Z_]*$/, 'an S3 storage class in capitals, e.g. GLACIER_IR')
  .describe('an S3 storage class, e.g. STANDARD, STANDARD_IA, GLACIER_IR, GLACIER, DEEP_ARCHIVE');

export const lifecycleReviewSchema = z
  .object({
    buckets: z
      .array(z.string().min(3).max(63))
      .default([])
      .describe('the buckets the quarterly lifecycle review reads, e.g. [llm-request-logs] (none: no review)'),
    dayOfMonth: z.coerce
      .number()
      .int()
      .min(1)
      .max(28)
      .default(1)
      .describe('the day of the quarter’s first month (January, April, July, October) it runs on, 1 to 28'),
    at: at.default('09:00'),
    timezone: timezone.default('UTC'),
    notify: notify.default(['finops']),
    coldAfterDays: z.coerce
      .number()
      .int()
      .min(1)
      .default(90)
      .describe('objects older than this many days count as cold, e.g. 90'),
    moveTo: storageClass.default('GLACIER_IR').describe('the storage class cold data would move to, e.g. GLACIER_IR'),
    pricesPerGbMonth: z
      .record(storageClass, z.number().min(0).describe('US dollars per GB-month, e.g. 0.023'))
      .default(DEFAULT_PRICES_PER_GB_MONTH)
      .describe(
        'US dollars per GB-month per storage class, replacing the defaults (AWS us-east-1 list prices), e.g. {STANDARD: 0.023, GLACIER_IR: 0.004}',
      ),
  })
  .strict()
  .refine((review) => Object.hasOwn(review.pricesPerGbMonth, review.moveTo), {
    message: 'moveTo names a storage class without a price: add it to storage.review.pricesPerGbMonth',
    path: ['moveTo'],
  })
  .describe('the quarterly review of the buckets’ lifecycle rules and storage classes (docs/reviews.md)');

export type WeeklyReviewSettings = z.output<typeof weeklyReviewSchema>;
export type LifecycleReviewSettings = z.output<typeof lifecycleReviewSchema>;
export type BudgetReviewOverride = z.output<typeof budgetReviewSchema>;

/** When a review runs: a day of the week (weekly) or of the quarter's first month (quarterly), at a time, in a zone. */
export interface ReviewTime {
  day: Weekday | number;
  at: string;
  timezone: string;
}
