// The review schedules on a real Temporal dev server: two workers ensuring them at once create each once, a changed
// day and time updates one, `finops-soar reviews` lists them with their next runs and last report, and the
// quarterly lifecycle review, triggered by hand, reads the S3 wire server's seeded objects (ListObjectsV2, two
// pages) and lifecycle rules: exact objects and bytes per storage class and age band, and exact savings.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import pino from 'pino';
import { configSchema, type Config } from '../../config/config-schema';
import { LogNotifier } from '../../notify/notifier';
import { PrometheusClient } from '../../prometheus/prometheus-client';
import { S3BucketObjects } from '../../reviews/bucket-objects';
import { GIB } from '../../reviews/lifecycle-figures';
import { createReviewActivities } from '../../reviews/review-activities';
import { reviewCommand } from '../../reviews/review-cli';
import { LIFECYCLE_SCHEDULE_ID } from '../../reviews/review-ids';
import { ensureReviewSchedules, lastRun, listReviewSchedules, runReviewNow } from '../../reviews/review-schedules';
import type { LifecycleReviewResult } from '../../reviews/review-workflows';
import {
  SIMULATOR_S3_CREDENTIALS,
  startS3LifecycleServer,
  type S3LifecycleServer,
} from '../../simulator/s3-lifecycle-api';
import { testS3 } from '../helpers/activities';
import { recordHistoryIfAsked } from '../helpers/histories';
import { startSimulator, type RunningSimulator } from '../helpers/simulator';
import { pollingWorker, startTemporal } from '../helpers/temporal';
import { waitFor } from '../helpers/wait';

const TASK_QUEUE = 'review-schedules-test';
const DAY_MS = 86_400_000;
const BUCKETS = ['llm-request-logs', 'llm-prompt-archive'];

let env: TestWorkflowEnvironment;
let s3: S3LifecycleServer;
let simulator: RunningSimulator;
let dataDir: string;
let worker: { shutdown(): void; running: Promise<void> } | undefined;
const logged: Array<Record<string, unknown>> = [];

const configWith = (platformReview: Record<string, string> = {}): Config =>
  configSchema.parse({
    dataDir,
    // The test's dev server: the CLI connects to it as it would to a cluster.
    temporal: { taskQueue: TASK_QUEUE, ...(env && { address: env.address }) },
    finops: {
      budgets: {
        platform: { monthlyUsd: 30_000, ...(Object.keys(platformReview).length > 0 && { review: platformReview }) },
        search: {
          monthlyUsd: 5_000,
          selector: 'route="search"',
          review: { day: 'friday', at: '16:30', timezone: 'Europe/Paris' },
        },
      },
    },
    storage: { review: { buckets: BUCKETS } },
  });

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'finops-soar-review-schedules-'));
  env = await startTemporal();
  s3 = await startS3LifecycleServer(BUCKETS);
  simulator = await startSimulator();
  const activities = createReviewActivities({
    // The weekly reviews are not run here (test/workflow/review-weekly.test.ts runs one): nothing listens there.
    prometheus: new PrometheusClient({ baseUrl: 'http://127.0.0.1:9', timeoutMs: 1_000 }),
    budgets: configWith().finops.budgets,
    series: { requests: 'http_requests_total{code="200"}', tokens: 'llm_tokens_total' },
    gateway: simulator.client,
    client: env.client,
    storage: testS3(s3.url),
    objects: new S3BucketObjects({
      region: 'us-east-1',
      endpoint: s3.url,
      forcePathStyle: true,
      credentials: SIMULATOR_S3_CREDENTIALS,
    }),
    dataDir,
    notifier: new LogNotifier(
      pino(
        new Writable({
          write(chunk: Buffer, _encoding, done) {
            logged.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
            done();
          },
        }),
      ),
    ),
  });
  // Polling before the first test: a review run by hand refuses a task queue no worker polls.
  worker = await pollingWorker(env, TASK_QUEUE, activities);
}, 60_000);

afterAll(async () => {
  worker?.shutdown();
  await worker?.running;
  await env?.teardown();
  await s3?.close();
  await simulator?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const WEEKLY_PLATFORM = 'finops-soar/review/weekly/platform';
const WEEKLY_SEARCH = 'finops-soar/review/weekly/search';

test('two workers starting at once create each schedule once; a third start changes nothing', async () => {
  const [first, second] = await Promise.all([
    ensureReviewSchedules(env.client, configWith()),
    ensureReviewSchedules(env.client, configWith()),
  ]);
  const all = [LIFECYCLE_SCHEDULE_ID, WEEKLY_PLATFORM, WEEKLY_SEARCH];
  expect([...first.created, ...second.created].sort()).toEqual(all);
  expect([...first.unchanged, ...second.unchanged].sort()).toEqual(all);
  expect([...first.updated, ...second.updated]).toEqual([]);
  const again = await ensureReviewSchedules(env.client, configWith());
  expect(again).toEqual({
    created: [],
    updated: [],
    unchanged: [WEEKLY_PLATFORM, WEEKLY_SEARCH, LIFECYCLE_SCHEDULE_ID],
    unknown: [],
  });

  const platform = await env.client.schedule.getHandle(WEEKLY_PLATFORM).describe();
  expect(platform.spec.calendars).toEqual([
    expect.objectContaining({
      dayOfWeek: [{ start: 'MONDAY', end: 'MONDAY', step: 1 }],
      hour: [{ start: 9, end: 9, step: 1 }],
    }),
  ]);
  expect(platform.spec.timezone).toBe('UTC');
  expect(platform.action).toMatchObject({
    type: 'startWorkflow',
    workflowType: 'weeklyReview',
    taskQueue: TASK_QUEUE,
    args: [{ budget: 'platform', notifyTo: ['finops'], top: 5 }],
  });
  expect(platform.policies).toMatchObject({ overlap: 'SKIP', catchupWindow: DAY_MS });
  // The schedule's next runs: Mondays at 09:00 UTC.
  for (const next of platform.info.nextActionTimes) {
    expect(next.getUTCDay()).toBe(1);
    expect(next.toISOString().slice(11)).toBe('09:00:00.000Z');
  }
});

test('a changed day and time updates only that schedule; its next runs follow', async () => {
  const outcome = await ensureReviewSchedules(env.client, configWith({ day: 'wednesday', at: '07:15' }));
  expect(outcome).toEqual({
    created: [],
    updated: [WEEKLY_PLATFORM],
    unchanged: [WEEKLY_SEARCH, LIFECYCLE_SCHEDULE_ID],
    unknown: [],
  });
  const platform = await env.client.schedule.getHandle(WEEKLY_PLATFORM).describe();
  expect(platform.info.nextActionTimes.length).toBeGreaterThan(0);
  for (const next of platform.info.nextActionTimes) {
    expect(next.getUTCDay()).toBe(3);
    expect(next.toISOString().slice(11)).toBe('07:15:00.000Z');
  }
  // The same config again: nothing more to update.
  expect((await ensureReviewSchedules(env.client, configWith({ day: 'wednesday', at: '07:15' }))).updated).toEqual([]);
});

// Objects seeded relative to now: each sits well inside its age band whenever the review runs.
function seed() {
  const ago = (days: number) => new Date(Date.now() - days * DAY_MS);
  s3.putObjects('llm-request-logs', [
    // Twelve hundred small recent logs: ListObjectsV2 answers them in two pages of at most 1,000.
    ...Array.from({ length: 1_200 }, (_, i) => ({
      key: `logs/tiny-${String(i).padStart(4, '0')}`,
      size: 1_024,
      lastModified: ago(10),
    })),
    { key: 'logs/a-1', size: GIB, lastModified: ago(10) },
    { key: 'logs/a-2', size: GIB, lastModified: ago(10) },
    { key: 'logs/odd', size: 12_345, lastModified: ago(10) },
    { key: 'logs/b', size: 3 * GIB, lastModified: ago(45) },
    ...[1, 2, 3, 4].map((i) => ({ key: `logs/c-${i}`, size: 20 * GIB, lastModified: ago(100) })),
    { key: 'logs/d', size: 20 * GIB, lastModified: ago(200) },
    { key: 'archive/e-1', size: 100 * GIB, storageClass: 'STANDARD_IA', lastModified: ago(200) },
    { key: 'archive/e-2', size: 100 * GIB, storageClass: 'STANDARD_IA', lastModified: ago(200) },
    { key: 'deep/f', size: 50 * GIB, storageClass: 'GLACIER', lastModified: ago(400) },
  ]);
}

const tally = (objects: number, bytes: number) => ({ objects, bytes });

function expectLifecycleFigures(result: LifecycleReviewResult) {
  const [logs, archive] = result.figures.buckets;
  expect(logs!.rules).toEqual([
    {
      ID: 'archive-logs',
      Status: 'Enabled',
      Filter: { Prefix: 'logs/' },
      Transitions: [{ Days: 30, StorageClass: 'STANDARD_IA' }],
    },
  ]);
  const recent = 2 * GIB + 1_200 * 1_024 + 12_345;
  expect(logs!.total).toEqual(tally(1_212, recent + 3 * GIB + 100 * GIB + 200 * GIB + 50 * GIB));
  expect(logs!.byClass).toEqual({
    STANDARD: tally(1_209, recent + 3 * GIB + 100 * GIB),
    STANDARD_IA: tally(2, 200 * GIB),
    GLACIER: tally(1, 50 * GIB),
  });
  expect(logs!.byAge).toEqual([
    { band: '0-30 days', total: tally(1_203, recent), byClass: { STANDARD: tally(1_203, recent) } },
    { band: '30-90 days', total: tally(1, 3 * GIB), byClass: { STANDARD: tally(1, 3 * GIB) } },
    { band: '90-180 days', total: tally(4, 80 * GIB), byClass: { STANDARD: tally(4, 80 * GIB) } },
    {
      band: '180-365 days',
      total: tally(3, 220 * GIB),
      byClass: { STANDARD: tally(1, 20 * GIB), STANDARD_IA: tally(2, 200 * GIB) },
    },
    { band: '365+ days', total: tally(1, 50 * GIB), byClass: { GLACIER: tally(1, 50 * GIB) } },
  ]);
  // Older than 90 days and dearer than GLACIER_IR ($0.004): 100 GiB of STANDARD at $0.023 saves 100 × 0.019 = $1.90
  // a month; 200 GiB of STANDARD_IA at $0.0125 saves 200 × 0.0085 = $1.70. GLACIER ($0.0036) is cheaper already.
  expect(logs!.cold).toEqual({
    olderThanDays: 90,
    moveTo: 'GLACIER_IR',
    byClass: {
      STANDARD: { ...tally(5, 100 * GIB), savedUsdPerMonth: 1.9 },
      STANDARD_IA: { ...tally(2, 200 * GIB), savedUsdPerMonth: 1.7 },
    },
    savedUsdPerMonth: 3.6,
  });
  expect(logs!.unpriced).toEqual([]);
  expect(archive).toMatchObject({ bucket: 'llm-prompt-archive', rules: null, total: tally(0, 0) });
  expect(result.figures.savedUsdPerMonth).toBe(3.6);
}

test('the quarterly review, triggered by hand on its schedule: the buckets as S3 lists them, kept, posted, listed', async () => {
  await testS3(s3.url).putLifecycle('llm-request-logs', {
    rules: [
      {
        ID: 'archive-logs',
        Status: 'Enabled',
        Filter: { Prefix: 'logs/' },
        Transitions: [{ Days: 30, StorageClass: 'STANDARD_IA' }],
      },
    ],
  });
  seed();
  s3.resetLog();
  const schedule = env.client.schedule.getHandle(LIFECYCLE_SCHEDULE_ID);
  await schedule.trigger();
  const action = await waitFor(
    'the schedule to start the review',
    async () => (await schedule.describe()).info.recentActions[0],
  );
  const handle = env.client.workflow.getHandle(
    action.action.workflow.workflowId,
    action.action.workflow.firstExecutionRunId,
  );
  const result = (await handle.result()) as LifecycleReviewResult;
  recordHistoryIfAsked(env.address, handle, 'lifecycle-review');
  expectLifecycleFigures(result);
  // Each bucket's lifecycle read once, and llm-request-logs listed in two pages, the second from the first's token.
  const lists = s3.requests.filter((request) => request.path.includes('list-type=2'));
  expect(lists.map((request) => request.path.replace(/continuation-token=[^&]+/, 'continuation-token=…'))).toEqual([
    '/llm-request-logs/?list-type=2',
    '/llm-request-logs/?continuation-token=…&list-type=2',
    '/llm-prompt-archive/?list-type=2',
  ]);

  const date = result.figures.asOf.slice(0, 10);
  expect(result.report.markdownPath).toBe(join(dataDir, 'reviews', 'quarterly', `${date}.md`));
  const markdown = readFileSync(result.report.markdownPath, 'utf8');
  expect(markdown).toContain(`# Quarterly lifecycle review, ${date}\n`);
  expect(markdown).toContain('- rule archive-logs (Enabled), prefix "logs/", to STANDARD_IA after 30 days\n');
  expect(markdown).toContain(
    '- older than 90 days in STANDARD: 5 objects, 107,374,182,400 bytes (100 GiB); moving it to GLACIER_IR saves $1.90/month\n',
  );
  expect(markdown).toContain('| 180-365 days | - | 20 GiB | 200 GiB |');
  expect(markdown).toContain(
    '## Bucket llm-prompt-archive: 0 objects, 0 bytes (0 GiB)\n\n- no lifecycle configuration\n',
  );

  const posted = logged.find((line) => line.report !== undefined)?.report as Record<string, unknown>;
  expect(posted).toMatchObject({
    to: ['finops'],
    title: `Quarterly lifecycle review, ${date}`,
    summary: '2 buckets; moving cold data would save $3.60/month.',
    files: [result.report.markdownPath],
  });
  expect(result.posted).toBe(true);

  // `finops-soar reviews`: the quarterly schedule's last run and its report; the weekly ones never ran.
  const listing = await listReviewSchedules(env.client, configWith({ day: 'wednesday', at: '07:15' }));
  expect(listing.map(({ scheduleId, state, when }) => ({ scheduleId, state, when }))).toEqual([
    { scheduleId: WEEKLY_PLATFORM, state: 'scheduled', when: 'wednesdays at 07:15 (UTC)' },
    { scheduleId: WEEKLY_SEARCH, state: 'scheduled', when: 'fridays at 16:30 (Europe/Paris)' },
    {
      scheduleId: LIFECYCLE_SCHEDULE_ID,
      state: 'scheduled',
      when: 'on day 1 of January, April, July and October at 09:00 (UTC)',
    },
  ]);
  const quarterly = listing[2]!;
  expect(quarterly.last).toEqual({
    scheduledAt: action.scheduledAt.toISOString(),
    workflowId: action.action.workflow.workflowId,
    status: 'completed',
    report: result.report.markdownPath,
  });
  for (const next of quarterly.nextRuns) {
    expect(['01', '04', '07', '10']).toContain(next.slice(5, 7));
    expect(next.slice(8)).toBe('01T09:00:00.000Z');
  }
  // Fridays at 16:30 in Paris: 15:30 UTC in winter, 14:30 in summer.
  for (const next of listing[1]!.nextRuns) {
    const paris = new Intl.DateTimeFormat('en-GB', {
      timeZone: 'Europe/Paris',
      weekday: 'short',
      hour: '2-digit',
      minute: '2-digit',
    });
    expect(paris.format(new Date(next))).toBe('Fri 16:30');
  }
  expect(listing[0]!.last).toBeNull();
}, 60_000);

test('`finops-soar review quarterly --now` runs it as of this minute and prints where the report is', async () => {
  const printed: string[] = [];
  const log = jest.spyOn(console, 'log').mockImplementation((line: string) => void printed.push(line));
  try {
    expect(await reviewCommand('review', ['quarterly'], { now: true }, configWith(), 'usage')).toBe(0);
  } finally {
    log.mockRestore();
  }
  const [line] = printed;
  expect(line).toMatch(
    /^finops-soar\/review\/quarterly\/manual\/\d{4}-\d\d-\d\dT\d\d:\d\d:00\.000Z: wrote .*\/reviews\/quarterly\/\d{4}-\d\d-\d\d\.md$/,
  );
  // The same minute again joins that run rather than starting another.
  const asOf = /manual\/([^:]+:[^:]+:00\.000Z)/.exec(line!)![1]!;
  const again = await runReviewNow(env.client, configWith(), { kind: 'quarterly', now: new Date(asOf) });
  expect(again[0]!.workflowId).toBe(`finops-soar/review/quarterly/manual/${asOf}`);
  expectLifecycleFigures(again[0]!.results[0] as LifecycleReviewResult);
}, 60_000);

test('`finops-soar review` without --now, or weekly for a budget that does not exist, says what to do', async () => {
  const errors: string[] = [];
  const error = jest.spyOn(console, 'error').mockImplementation((line: string) => void errors.push(line));
  try {
    expect(await reviewCommand('review', ['weekly'], {}, configWith(), 'usage')).toBe(2);
    await expect(runReviewNow(env.client, configWith(), { kind: 'weekly', budget: 'nope' })).rejects.toThrow(
      '--budget nope: no such budget; define finops.budgets.nope in the config (defined: platform, search)',
    );
    // With no worker on the task queue, a review would wait for ever: refused, saying what to start.
    const nobody = { ...configWith(), temporal: { ...configWith().temporal, taskQueue: 'nobody-polls' } };
    await expect(runReviewNow(env.client, nobody, { kind: 'quarterly' })).rejects.toThrow(
      'no worker polls the task queue nobody-polls in namespace default: start one (npm start, or node dist/workers/worker.js) and run the review again',
    );
  } finally {
    error.mockRestore();
  }
  expect(errors[0]).toMatch(/^review takes weekly or quarterly and --now/);
});

test('a last run Temporal no longer keeps (past retention) is listed as such, not an error', async () => {
  // What describing a run past the namespace's retention answers: the real server's not-found.
  expect(await lastRun(env.client, 'finops-soar/review/quarterly-2020-01-01T09:00:00Z', randomUUID())).toEqual({
    status: 'past retention',
    report: null,
  });
});
