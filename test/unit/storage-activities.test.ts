// The storage activities in Temporal's activity context (MockActivityEnvironment): dry runs change
// nothing, bad params are refused before any S3 call, and the check's facts.
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import type {
  ActionActivity,
  ActionOutcome,
  ActionRequest,
  CheckActivity,
  CheckRequest,
  Facts,
} from '../../activities/action-contract';
import { createStorageActivities } from '../../storage/lifecycle-activities';
import { S3BucketLifecycle } from '../../storage/lifecycle-client';
import {
  SIMULATOR_S3_CREDENTIALS,
  startS3LifecycleServer,
  type S3LifecycleServer,
} from '../../simulator/s3-lifecycle-api';

let server: S3LifecycleServer;
let lifecycle: S3BucketLifecycle;
let activities: ReturnType<typeof createStorageActivities>;

beforeAll(async () => {
  server = await startS3LifecycleServer(['llm-logs', 'empty-bucket']);
  lifecycle = new S3BucketLifecycle({
    endpoint: server.url,
    region: 'eu-west-1',
    forcePathStyle: true,
    credentials: SIMULATOR_S3_CREDENTIALS,
  });
  activities = createStorageActivities(lifecycle);
});
afterAll(() => server.close());
beforeEach(async () => {
  server.buckets.set('empty-bucket', null);
  await lifecycle.putLifecycle('llm-logs', {
    rules: [{ ID: 'expire-tmp', Status: 'Enabled', Filter: { Prefix: 'tmp/' }, Expiration: { Days: 3 } }],
  });
  server.resetLog();
});

const request = (bucket: string, params: unknown, dryRun = false): ActionRequest => ({
  target: { kind: 'bucket', key: `bucket=${bucket}`, labels: { bucket } },
  params,
  idempotencyKey: 'run-1/cold/apply',
  purpose: 'apply',
  dryRun,
});

const act = (activity: ActionActivity, action: ActionRequest) =>
  new MockActivityEnvironment().run<[ActionRequest], ActionOutcome, ActionActivity>(activity, action);
const check = (activity: CheckActivity, bucket: string) =>
  new MockActivityEnvironment().run<[CheckRequest], Facts, CheckActivity>(activity, {
    target: { kind: 'bucket', key: `bucket=${bucket}`, labels: { bucket } },
    params: {},
  });

const failureOf = (promise: Promise<unknown>) =>
  promise.then(
    () => {
      throw new Error('expected the activity to fail');
    },
    (error: unknown) => error as ApplicationFailure,
  );

const COLD = { id: 'cold', transitions: [{ days: 30, storageClass: 'STANDARD_IA' }] };

test('a dry run reads the configuration and says what would change, without a PUT', async () => {
  const outcome = await act(activities['storage.addLifecycleRules'], request('llm-logs', { rules: [COLD] }, true));
  expect(outcome).toEqual({
    summary: 'would change bucket llm-logs: lifecycle rules +finops-soar:cold (30d → STANDARD_IA) (1 kept)',
    previous: {
      rules: [{ ID: 'expire-tmp', Status: 'Enabled', Filter: { Prefix: 'tmp/' }, Expiration: { Days: 3 } }],
      transitionDefaultMinimumObjectSize: 'all_storage_classes_128K',
    },
    undo: null,
  });
  expect(server.requests.map(({ method }) => method)).toEqual(['GET']);
  expect(server.mutations).toBe(0);
});

test('a dry run of the undo changes nothing either', async () => {
  const applied = await act(activities['storage.addLifecycleRules'], request('empty-bucket', { rules: [COLD] }));
  server.resetLog();
  const outcome = await act(
    activities['storage.restoreLifecycle'],
    request('empty-bucket', applied.undo!.params, true),
  );
  expect(outcome).toMatchObject({
    summary: 'would change bucket empty-bucket: lifecycle rules -finops-soar:cold; no configuration, as before',
    undo: null,
  });
  expect(server.mutations).toBe(0);
});

test.each([
  [{ rules: [] }, /^storage\.addLifecycleRules: invalid params: rules: Too small: expected array to have >=1 items/],
  [
    { rules: [{ ...COLD, transitions: [{ days: 7, storageClass: 'STANDARD_IA' }] }] },
    /rules\[0\]\.transitions\[0\]\.days: S3 moves objects to STANDARD_IA no earlier than 30 days after creation, not 7\. Expected: days after creation/,
  ],
  [
    { rules: [{ ...COLD, transitions: [{ days: 30, storageClass: 'REDUCED_REDUNDANCY' }] }] },
    /rules\[0\]\.transitions\[0\]\.storageClass: .*Expected: the class objects move to: STANDARD_IA, ONEZONE_IA/,
  ],
  [
    { rules: [{ id: 'nothing', transitions: [] }] },
    /rules\[0\]\.transitions: the rule does nothing: give at least one transition or expirationDays/,
  ],
  [{ rules: [COLD, COLD] }, /rules\[1\]\.id: rule id cold appears twice/],
  [{ rules: [{ ...COLD, id: 'has space' }] }, /rules\[0\]\.id: use letters, digits, dots, dashes and underscores/],
  [
    { rules: [{ ...COLD, expirationDays: 20 }] },
    /rules\[0\]\.transitions\[0\]\.days: objects expire after 20 days, so a transition at 30 days never happens/,
  ],
  [
    {
      rules: [
        {
          ...COLD,
          transitions: [
            { days: 30, storageClass: 'GLACIER' },
            { days: 60, storageClass: 'GLACIER' },
          ],
        },
      ],
    },
    /rules\[0\]\.transitions\[1\]\.storageClass: GLACIER appears twice/,
  ],
  [{ rules: [COLD], extra: true }, /\(top level\): Unrecognized key: "extra"/],
])('invalid params %j are refused as InvalidParams before any S3 call', async (params, message) => {
  const failure = await failureOf(act(activities['storage.addLifecycleRules'], request('llm-logs', params)));
  expect(failure).toBeInstanceOf(ApplicationFailure);
  expect(failure).toMatchObject({ type: 'InvalidParams', nonRetryable: true });
  expect(failure.message).toMatch(message);
  expect(server.requests).toHaveLength(0);
});

test('the undo only removes rules in the engine namespace', async () => {
  const failure = await failureOf(
    act(activities['storage.restoreLifecycle'], request('llm-logs', { previous: null, remove: ['expire-tmp'] })),
  );
  expect(failure).toMatchObject({ type: 'InvalidParams', nonRetryable: true });
  expect(failure.message).toMatch(
    /^storage\.restoreLifecycle: invalid params: remove\[0\]: Invalid string: must start with "finops-soar:"/,
  );
  expect(server.requests).toHaveLength(0);
});

test('the check answers the rule count and IDs, 0 and [] without a configuration', async () => {
  expect(await check(activities['storage.getLifecycle'], 'llm-logs')).toEqual({
    ruleCount: 1,
    ruleIds: ['expire-tmp'],
  });
  expect(await check(activities['storage.getLifecycle'], 'empty-bucket')).toEqual({ ruleCount: 0, ruleIds: [] });
});
