// The reviews as Temporal Schedules: one per budget for the weekly forecast review, one for the quarterly lifecycle
// review. The worker ensures them at start (ensureReviewSchedules): it creates a missing one, updates one whose
// time or input the config changed, and leaves an unchanged one be, so any number of workers starting at once
// create each schedule once (the server refuses a second create with ScheduleAlreadyRunning). The CLI lists them
// and runs a review by hand through the same definitions.
import {
  ScheduleAlreadyRunning,
  ScheduleNotFoundError,
  ScheduleOverlapPolicy,
  type CalendarSpec,
  type Client,
  type ScheduleOptionsStartWorkflowAction,
  type ScheduleSpec,
  type Workflow,
  WorkflowNotFoundError,
} from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import type { Config } from '../config/config-schema';
import {
  isReviewScheduleId,
  LIFECYCLE_REVIEW_WORKFLOW,
  LIFECYCLE_SCHEDULE_ID,
  manualReviewWorkflowId,
  WEEKLY_REVIEW_WORKFLOW,
  weeklyScheduleId,
  type LifecycleReviewInput,
  type WeeklyReviewInput,
} from './review-ids';
import {
  lifecycleReviewSchema,
  weeklyReviewSchema,
  type LifecycleReviewSettings,
  type WeeklyReviewSettings,
} from './review-settings';
import type { LifecycleReviewResult, WeeklyReviewResult } from './review-workflows';

/** The reviews' settings, the defaults where the config file has no block for them. */
export function reviewSettings(config: Pick<Config, 'finops' | 'storage'>): {
  weekly: WeeklyReviewSettings;
  lifecycle: LifecycleReviewSettings;
} {
  return {
    weekly: config.finops.reviews?.weekly ?? weeklyReviewSchema.parse({}),
    lifecycle: config.storage.review ?? lifecycleReviewSchema.parse({}),
  };
}

export interface DesiredSchedule {
  scheduleId: string;
  kind: 'weekly' | 'quarterly';
  workflowType: string;
  input: WeeklyReviewInput | LifecycleReviewInput;
  spec: ScheduleSpec;
  /** In words, e.g. "mondays at 09:00 (UTC)". */
  when: string;
}

const QUARTER_MONTHS = ['JANUARY', 'APRIL', 'JULY', 'OCTOBER'] as const;
const hourMinute = (at: string) => ({ hour: Number(at.slice(0, 2)), minute: Number(at.slice(3, 5)) });

/** The schedules the config asks for: a weekly review per budget (unless disabled), and a quarterly one when buckets are named. */
export function desiredSchedules(config: Pick<Config, 'finops' | 'storage'>): DesiredSchedule[] {
  const { weekly, lifecycle } = reviewSettings(config);
  const schedules: DesiredSchedule[] = [];
  if (weekly.enabled)
    for (const [budget, spec] of Object.entries(config.finops.budgets).sort(([a], [b]) => a.localeCompare(b))) {
      const day = spec.review?.day ?? weekly.day;
      const at = spec.review?.at ?? weekly.at;
      const timezone = spec.review?.timezone ?? weekly.timezone;
      const calendar: CalendarSpec = {
        dayOfWeek: day.toUpperCase() as CalendarSpec['dayOfWeek'],
        ...hourMinute(at),
        comment: `weekly review of budget ${budget}`,
      };
      schedules.push({
        scheduleId: weeklyScheduleId(budget),
        kind: 'weekly',
        workflowType: WEEKLY_REVIEW_WORKFLOW,
        input: { budget, notifyTo: weekly.notify, top: weekly.top },
        spec: { calendars: [calendar], timezone },
        when: `${day}s at ${at} (${timezone})`,
      });
    }
  if (lifecycle.buckets.length > 0) {
    const { buckets, coldAfterDays, moveTo, pricesPerGbMonth, notify, dayOfMonth, at, timezone } = lifecycle;
    schedules.push({
      scheduleId: LIFECYCLE_SCHEDULE_ID,
      kind: 'quarterly',
      workflowType: LIFECYCLE_REVIEW_WORKFLOW,
      input: { buckets, notifyTo: notify, coldAfterDays, moveTo, pricesPerGbMonth },
      spec: {
        calendars: [
          { month: [...QUARTER_MONTHS], dayOfMonth, ...hourMinute(at), comment: 'quarterly lifecycle review' },
        ],
        timezone,
      },
      when: `on day ${dayOfMonth} of January, April, July and October at ${at} (${timezone})`,
    });
  }
  return schedules;
}

/**
 * What decides whether a schedule needs updating: its spec, its workflow and input, its task queue. Kept in the
 * action's memo (a schedule's own memo cannot be updated), which every review it starts also carries.
 */
const FINGERPRINT_MEMO = 'finopsSoarSchedule';
const fingerprint = (desired: DesiredSchedule, taskQueue: string) =>
  JSON.stringify({ spec: desired.spec, type: desired.workflowType, input: desired.input, taskQueue });

function actionOf(desired: DesiredSchedule, taskQueue: string): ScheduleOptionsStartWorkflowAction<Workflow> {
  return {
    type: 'startWorkflow',
    workflowType: desired.workflowType,
    // Temporal appends the scheduled time to this id for each run.
    workflowId: desired.scheduleId,
    taskQueue,
    args: [desired.input],
    memo: { [FINGERPRINT_MEMO]: fingerprint(desired, taskQueue) },
  };
}

const POLICIES = {
  // A review still running when the next is due (a slow Prometheus) is not doubled.
  overlap: ScheduleOverlapPolicy.SKIP,
  // A review missed while Temporal was down runs when it is back, within a day; an older one is skipped.
  catchupWindow: '1 day',
  pauseOnFailure: false,
} as const;

export interface EnsureOutcome {
  created: string[];
  updated: string[];
  unchanged: string[];
  /** Review schedules the config no longer asks for: left in place (a worker with an older config may still be up), named in the log. */
  unknown: string[];
}

export async function ensureReviewSchedules(
  client: Client,
  config: Pick<Config, 'finops' | 'storage' | 'temporal'>,
): Promise<EnsureOutcome> {
  const taskQueue = config.temporal.taskQueue;
  const outcome: EnsureOutcome = { created: [], updated: [], unchanged: [], unknown: [] };
  const desired = desiredSchedules(config);
  for (const schedule of desired) {
    const action = actionOf(schedule, taskQueue);
    try {
      await client.schedule.create({
        scheduleId: schedule.scheduleId,
        spec: schedule.spec,
        action,
        policies: POLICIES,
        memo: { kind: schedule.kind },
      });
      outcome.created.push(schedule.scheduleId);
      continue;
    } catch (error) {
      if (!(error instanceof ScheduleAlreadyRunning)) throw error;
    }
    const handle = client.schedule.getHandle(schedule.scheduleId);
    const current = await handle.describe();
    if (current.action.memo?.[FINGERPRINT_MEMO] === action.memo![FINGERPRINT_MEMO]) {
      outcome.unchanged.push(schedule.scheduleId);
      continue;
    }
    await handle.update((previous) => ({ spec: schedule.spec, action, policies: POLICIES, state: previous.state }));
    outcome.updated.push(schedule.scheduleId);
  }
  const wanted = new Set(desired.map((schedule) => schedule.scheduleId));
  for await (const summary of client.schedule.list())
    if (isReviewScheduleId(summary.scheduleId) && !wanted.has(summary.scheduleId))
      outcome.unknown.push(summary.scheduleId);
  return outcome;
}

export interface ScheduleListing {
  scheduleId: string;
  when: string;
  state: 'scheduled' | 'paused' | 'missing' | 'not in the config';
  nextRuns: string[];
  last: { scheduledAt: string; workflowId: string; status: string; report: string | null } | null;
}

/** How a schedule's last run ended, and its report. */
export async function lastRun(client: Client, workflowId: string, runId: string) {
  const handle = client.workflow.getHandle(workflowId, runId);
  let status;
  try {
    ({ status } = await handle.describe());
  } catch (error) {
    // Past the namespace's retention (a day on the dev server), Temporal keeps no trace of the run; its report is
    // still under the data folder.
    if (error instanceof WorkflowNotFoundError) return { status: 'past retention', report: null };
    throw error;
  }
  if (status.name !== 'COMPLETED') return { status: status.name.toLowerCase(), report: null };
  const result = (await handle.result()) as WeeklyReviewResult | LifecycleReviewResult;
  return { status: result.posted ? 'completed' : 'completed (not posted)', report: result.report.markdownPath };
}

/** Every review schedule: the configured ones (missing ones too) and any other the namespace holds. */
export async function listReviewSchedules(
  client: Client,
  config: Pick<Config, 'finops' | 'storage'>,
): Promise<ScheduleListing[]> {
  const desired = desiredSchedules(config);
  const listed = new Set<string>();
  for await (const summary of client.schedule.list())
    if (isReviewScheduleId(summary.scheduleId)) listed.add(summary.scheduleId);
  const ids = [...new Set([...desired.map((d) => d.scheduleId), ...[...listed].sort()])];
  const listing: ScheduleListing[] = [];
  for (const scheduleId of ids) {
    const wanted = desired.find((d) => d.scheduleId === scheduleId);
    let description;
    try {
      description = await client.schedule.getHandle(scheduleId).describe();
    } catch (error) {
      if (!(error instanceof ScheduleNotFoundError)) throw error;
      listing.push({ scheduleId, when: wanted?.when ?? '', state: 'missing', nextRuns: [], last: null });
      continue;
    }
    const recent = description.info.recentActions.at(-1);
    const last = recent
      ? {
          scheduledAt: recent.scheduledAt.toISOString(),
          workflowId: recent.action.workflow.workflowId,
          ...(await lastRun(client, recent.action.workflow.workflowId, recent.action.workflow.firstExecutionRunId)),
        }
      : null;
    listing.push({
      scheduleId,
      when: wanted?.when ?? '',
      state: !wanted ? 'not in the config' : description.state.paused ? 'paused' : 'scheduled',
      nextRuns: description.info.nextActionTimes.slice(0, 3).map((time) => time.toISOString()),
      last,
    });
  }
  return listing;
}

/** How many workers poll the task queue for workflow tasks: a review started with none would wait for ever. */
async function workersPolling(client: Client, namespace: string, taskQueue: string): Promise<number> {
  const { pollers = [] } = await client.workflowService.describeTaskQueue({
    namespace,
    taskQueue: { name: taskQueue },
    taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
  });
  return pollers.length;
}

/**
 * Runs a review now, by hand, as of this minute, and waits for its report. The same input as its schedule's; a
 * second call in the same minute joins the first run.
 */
export async function runReviewNow(
  client: Client,
  config: Pick<Config, 'finops' | 'storage' | 'temporal'>,
  { kind, budget, now = new Date() }: { kind: 'weekly' | 'quarterly'; budget?: string; now?: Date },
): Promise<{ workflowId: string; results: Array<WeeklyReviewResult | LifecycleReviewResult> }[]> {
  const asOf = new Date(Math.floor(now.getTime() / 60_000) * 60_000).toISOString();
  let chosen = desiredSchedules(config).filter((d) => d.kind === kind);
  if (kind === 'weekly') {
    const { weekly } = reviewSettings(config);
    const budgets = Object.keys(config.finops.budgets);
    if (budget !== undefined && !budgets.includes(budget))
      throw new Error(
        `--budget ${budget}: no such budget; define finops.budgets.${budget} in the config (defined: ${budgets.join(', ') || 'none'})`,
      );
    // A disabled weekly review still runs by hand.
    chosen = (budget ? [budget] : budgets).map((name) => ({
      scheduleId: weeklyScheduleId(name),
      kind,
      workflowType: WEEKLY_REVIEW_WORKFLOW,
      input: { budget: name, notifyTo: weekly.notify, top: weekly.top },
      spec: {},
      when: '',
    }));
  }
  const polled = await workersPolling(client, config.temporal.namespace, config.temporal.taskQueue);
  if (polled === 0)
    throw new Error(
      `no worker polls the task queue ${config.temporal.taskQueue} in namespace ${config.temporal.namespace}: start one (npm start, or node dist/workers/worker.js) and run the review again`,
    );
  if (chosen.length === 0)
    throw new Error(
      kind === 'weekly'
        ? 'no budget to review: define finops.budgets in the config'
        : 'no bucket to review: list them in storage.review.buckets',
    );
  const runs = [];
  for (const review of chosen) {
    const workflowId = manualReviewWorkflowId(review.scheduleId, asOf);
    const handle = await client.workflow.start(review.workflowType, {
      workflowId,
      taskQueue: config.temporal.taskQueue,
      args: [{ ...review.input, asOf }],
      workflowIdConflictPolicy: 'USE_EXISTING',
    });
    runs.push({ workflowId, results: [(await handle.result()) as WeeklyReviewResult | LifecycleReviewResult] });
  }
  return runs;
}
