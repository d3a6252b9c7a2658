// The reviews' names: schedule ids, workflow types and the inputs their schedules start them with. Pure, so the
// worker, the CLI and the workflows agree on them (the dust-tt `config.ts` pattern).

/** The weekly forecast review of one budget (reviews/review-workflows.ts). */
export const WEEKLY_REVIEW_WORKFLOW = 'weeklyReview';
/** The quarterly lifecycle review of the configured buckets. */
export const LIFECYCLE_REVIEW_WORKFLOW = 'lifecycleReview';

const PREFIX = 'finops-soar/review';

/** One schedule per budget, so each budget can have its own day and time, and is listed, paused or run on its own. */
export const weeklyScheduleId = (budget: string) => `${PREFIX}/weekly/${budget}`;
export const LIFECYCLE_SCHEDULE_ID = `${PREFIX}/quarterly`;
export const isReviewScheduleId = (id: string) => id.startsWith(`${PREFIX}/`);

/** A review run by hand: the schedule's id and the time it reports as of, so a second `--now` in the same minute is the same run. */
export const manualReviewWorkflowId = (scheduleId: string, asOf: string) => `${scheduleId}/manual/${asOf}`;

export interface WeeklyReviewInput {
  budget: string;
  /** Notify names the digest goes to. */
  notifyTo: string[];
  /** How many tenants, routes and changes each list shows. */
  top: number;
  /** The time the review reports as of (ISO); absent: the schedule's time, or the run's start. */
  asOf?: string;
}

export interface LifecycleReviewInput {
  buckets: string[];
  notifyTo: string[];
  coldAfterDays: number;
  moveTo: string;
  pricesPerGbMonth: Record<string, number>;
  asOf?: string;
}

/** Where a review's report was kept and what it holds: a review workflow's result. */
export interface ReviewFiles {
  markdownPath: string;
  chartPath: string | null;
}
