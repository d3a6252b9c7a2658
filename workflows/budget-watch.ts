// Watches the configured budgets: every interval it asks where each one stands and tells FinOps
// the first time in a month that its spend reaches 50, 75, 90 and 100%. One long-lived workflow
// (started by the worker), so what was announced survives restarts and is never announced twice.
import {
  continueAsNew,
  defineQuery,
  log,
  patched,
  proxyActivities,
  setHandler,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import { budgetMessage, newlyCrossed, type BudgetReport } from '../finops/budget';
import { TELLING_PEOPLE } from './activity-options';
import { failureMessage } from './failures';

export const BUDGET_WATCH_WORKFLOW_ID = 'finops-soar/budget-watch';

export interface BudgetWatchInput {
  everyMs: number;
  /** Notify names to tell, e.g. finops. */
  notifyTo: string[];
  /** Carried over continue-as-new: per budget, the month and the thresholds announced in it. */
  announced?: Record<string, { month: string; thresholds: number[] }>;
}

export interface BudgetWatchStatus {
  reports: Record<string, BudgetReport>;
  announced: Record<string, { month: string; thresholds: number[] }>;
  /** Per budget, why the last report failed, e.g. no spend matching its selector. */
  problems: Record<string, string>;
}

export const budgetWatchStatusQuery = defineQuery<BudgetWatchStatus>('budgetWatchStatus');

// A report is a few Prometheus queries: a failed one is tried again in the next round.
const ask = proxyActivities<Activities>({
  startToCloseTimeout: '1m',
  retry: { initialInterval: '2s', maximumAttempts: 3 },
});
const tell = proxyActivities<Activities>(TELLING_PEOPLE);

/** Rounds per execution: far below Temporal's history limits, whatever the number of budgets. */
const ROUNDS_PER_RUN = 200;

/**
 * After a round that could not report a budget (Prometheus not scraped yet, a failed query), the
 * next comes sooner: a fifth of the interval, at most a minute. A budget whose selector matches
 * nothing keeps it that frequent, which its problem in the status asks to fix anyway.
 */
const retryAfterMs = (everyMs: number) => Math.min(everyMs / 5, 60_000);

export async function budgetWatch(input: BudgetWatchInput): Promise<never> {
  const status: BudgetWatchStatus = { reports: {}, announced: input.announced ?? {}, problems: {} };
  setHandler(budgetWatchStatusQuery, () => status);
  for (let round = 0; round < ROUNDS_PER_RUN && !workflowInfo().continueAsNewSuggested; round++) {
    for (const budget of await ask['finops.budgetNames']()) {
      let report: BudgetReport;
      try {
        report = await ask['finops.budgetReport'](budget);
      } catch (error) {
        status.problems[budget] = failureMessage(error);
        continue;
      }
      delete status.problems[budget];
      status.reports[budget] = report;
      const previous = status.announced[budget];
      const announced = previous?.month === report.month ? previous.thresholds : [];
      const crossed = newlyCrossed(report.spentUsd / report.monthlyUsd, announced);
      if (crossed.length === 0) continue;
      // Several thresholds crossed since the last round make one message, about the highest.
      const highest = crossed.at(-1)!;
      try {
        await tell['notify.send']({
          to: input.notifyTo,
          message: budgetMessage(report, highest),
          run: {
            workflowId: workflowInfo().workflowId,
            playbook: 'budget-watch',
            target: `budget=${budget}`,
            severity: highest >= 0.9 ? 'S1' : 'S2',
          },
        });
      } catch (error) {
        log.warn('could not announce a budget threshold; trying again next round', {
          budget,
          threshold: highest,
          error: String(error),
        });
        continue;
      }
      status.announced[budget] = { month: report.month, thresholds: [...announced, ...crossed] };
    }
    // Watches started before rounds were retried sooner keep their history.
    await sleep(
      Object.keys(status.problems).length > 0 && patched('budget-watch-retry')
        ? retryAfterMs(input.everyMs)
        : input.everyMs,
    );
  }
  return continueAsNew<typeof budgetWatch>({ ...input, announced: status.announced });
}
