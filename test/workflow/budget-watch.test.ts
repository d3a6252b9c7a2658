// The budget watch on a real Temporal dev server, reading spend from a real Prometheus that scrapes
// a counter the test makes grow: each of 50, 75, 90 and 100% is announced once in the month, with
// the numbers, and never again however many rounds follow.
import { BUDGET_WATCH_WORKFLOW_ID, budgetWatchStatusQuery, type budgetWatch } from '../../workflows/budget-watch';
import { recordHistoryIfAsked } from '../helpers/histories';
import { startPrometheusWithSpend, type RunningPrometheus } from '../helpers/prometheus';
import { waitFor } from '../helpers/wait';
import { startHarness, type Harness } from '../helpers/workflow-harness';

const QUEUE = 'budget-watch';
// A worker whose budgets include one no spend matches.
const WITH_GHOST = 'budget-watch-ghost';
let harness: Harness;
let prometheus: RunningPrometheus;

beforeAll(async () => {
  harness = await startHarness();
  // acme spends $1 every 250 ms, $4 a second, against a $40 budget: all of it within seconds.
  prometheus = await startPrometheusWithSpend([{ labels: 'tenant="acme",route="chat"', usdPerTick: 1 }]);
  await harness.startWorker(QUEUE, {
    prometheusUrl: prometheus.url,
    finops: { budgets: { acme: { monthlyUsd: 40, selector: 'tenant="acme"' } }, gpuHourlyUsd: 2.5, headroom: 0.1 },
  });
  await harness.startWorker(WITH_GHOST, {
    prometheusUrl: prometheus.url,
    finops: {
      budgets: {
        acme: { monthlyUsd: 40, selector: 'tenant="acme"' },
        ghost: { monthlyUsd: 40, selector: 'tenant="nobody"' },
      },
      gpuHourlyUsd: 2.5,
      headroom: 0.1,
    },
  });
});
afterAll(async () => {
  await harness?.close();
  await prometheus?.close();
});

const announcements = () =>
  harness.notifierLog
    .map((line) => line.notification as { to: string[]; message: string } | undefined)
    .filter((notification) => notification?.message.startsWith('Budget acme'));

test('each threshold of a budget is announced once a month, with the spend, the pace and the forecast', async () => {
  const handle = await harness.env.client.workflow.start<typeof budgetWatch>('budgetWatch', {
    workflowId: BUDGET_WATCH_WORKFLOW_ID,
    taskQueue: QUEUE,
    args: [{ everyMs: 1_000, notifyTo: ['finops'] }],
  });
  const status = await waitFor('100% announced', async () => {
    const current = await handle.query(budgetWatchStatusQuery);
    return current.announced.acme?.thresholds.includes(1) ? current : undefined;
  });
  expect(status.announced.acme).toEqual({
    month: new Date().toISOString().slice(0, 7),
    thresholds: [0.5, 0.75, 0.9, 1],
  });
  expect(status.reports.acme).toMatchObject({ budget: 'acme', monthlyUsd: 40 });

  const announced = announcements();
  // Thresholds crossed between two rounds make one message about the highest; none twice.
  const percents = announced.map((notification) => Number(/has reached (\d+)%/.exec(notification!.message)![1]));
  expect(percents).toEqual([...new Set(percents)].sort((a, b) => a - b));
  expect(percents.at(-1)).toBe(100);
  expect(announced.every((notification) => notification!.to.join() === 'finops')).toBe(true);
  expect(announced.at(-1)!.message).toMatch(
    /^Budget acme has reached 100% for \d{4}-\d{2}: \$\d+ of \$40 spent\. Spending \$[\d,.]+\/day over the last day(, \$[\d,.]+\/day over the last week)?, \$[\d,.]+\/day this month\. Month-end forecast \$[\d,]+, up to \$[\d,]+: over by \$[\d,]+\.$/,
  );

  // More rounds, more spend: nothing more to announce this month.
  const rounds = (await handle.query(budgetWatchStatusQuery)).reports.acme!.spentUsd;
  await waitFor('three more rounds', async () =>
    (await handle.query(budgetWatchStatusQuery)).reports.acme!.spentUsd >= rounds + 12 ? true : undefined,
  );
  expect(announcements()).toHaveLength(announced.length);
  recordHistoryIfAsked(harness.env.address, handle, 'budget-watch');
  await handle.terminate('test over');
});

test('a round that could not report a budget is followed sooner: a fifth of the interval; the problem is in the status', async () => {
  const handle = await harness.env.client.workflow.start<typeof budgetWatch>('budgetWatch', {
    workflowId: `${BUDGET_WATCH_WORKFLOW_ID}-ghost`,
    taskQueue: WITH_GHOST,
    args: [{ everyMs: 600_000, notifyTo: ['finops'] }],
  });
  const status = await waitFor('the first round', async () => {
    const current = await handle.query(budgetWatchStatusQuery);
    return current.problems.ghost ? current : undefined;
  });
  expect(status.problems.ghost).toMatch(
    /^finops\.budgetReport: no spend matches sum\(increase\(inference_cost_usd_total\{tenant="nobody"\}\[\d+s\]\)\); check finops\.budgets\.ghost\.selector/,
  );
  // The timer the round started: a minute (a fifth of ten, at most one), not ten.
  const timers = await waitFor('the timer after the round', async () => {
    const { events } = await handle.fetchHistory();
    const started = (events ?? []).flatMap(({ timerStartedEventAttributes }) =>
      timerStartedEventAttributes ? [timerStartedEventAttributes.startToFireTimeout] : [],
    );
    return started.length > 0 ? started : undefined;
  });
  expect(timers.map((duration) => Number(duration?.seconds))).toEqual([60]);
  recordHistoryIfAsked(harness.env.address, handle, 'budget-watch-retry');
  await handle.terminate('test over');
});
