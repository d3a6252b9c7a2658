// The S3 lifecycle actuator through the real @aws-sdk/client-s3 against a local server speaking the
// S3 REST protocol: the exact requests and XML on the wire, foreign rules kept, exact restore
// (including "there was none"), idempotent retries, and errors classified retryable or not.
import { ApplicationFailure } from '@temporalio/common';
import type { ActionOutcome, ActionRequest } from '../../activities/action-contract';
import { createStorageActivities } from '../../storage/lifecycle-activities';
import {
  LifecycleError,
  S3BucketLifecycle,
  type LifecycleConfiguration,
  type LifecycleRule,
} from '../../storage/lifecycle-client';
import { freePort } from '../helpers/ports';
import {
  SIMULATOR_S3_CREDENTIALS,
  startS3LifecycleServer,
  type S3LifecycleServer,
} from '../../simulator/s3-lifecycle-api';

const BUCKETS = ['llm-logs', 'llm-traces', 'empty-bucket'];
const LIFECYCLE_PATH = (bucket: string) => `/${bucket}/?lifecycle=`;

// Rules someone else wrote, as the SDK puts them: one with a date, one disabled, and a non-default minimum object size.
const FOREIGN_CONFIGURATION: LifecycleConfiguration = {
  rules: [
    {
      ID: 'expire-tmp',
      Status: 'Enabled',
      Filter: { Prefix: 'tmp/' },
      Expiration: { Date: '2027-01-01T00:00:00.000Z' },
    },
    {
      ID: 'archive-audit',
      Status: 'Disabled',
      Filter: { And: { Prefix: 'audit/', Tags: [{ Key: 'team', Value: 'risk' }] } },
      Transitions: [{ Days: 90, StorageClass: 'DEEP_ARCHIVE' }],
      NoncurrentVersionExpiration: { NoncurrentDays: 30 },
    },
  ],
  transitionDefaultMinimumObjectSize: 'varies_by_storage_class',
};
const FOREIGN_RULES_XML = [
  '<Rule><Status>Enabled</Status><Expiration><Date>2027-01-01T00:00:00Z</Date></Expiration><ID>expire-tmp</ID><Filter><Prefix>tmp/</Prefix></Filter></Rule>',
  '<Rule><Status>Disabled</Status><ID>archive-audit</ID><Filter><And><Prefix>audit/</Prefix><Tag><Key>team</Key><Value>risk</Value></Tag></And></Filter>' +
    '<Transition><Days>90</Days><StorageClass>DEEP_ARCHIVE</StorageClass></Transition><NoncurrentVersionExpiration><NoncurrentDays>30</NoncurrentDays></NoncurrentVersionExpiration></Rule>',
];
const COLD_LOGS_XML =
  '<Rule><Status>Enabled</Status><ID>finops-soar:cold-logs</ID><Filter><Prefix>logs/</Prefix></Filter>' +
  '<Transition><Days>30</Days><StorageClass>STANDARD_IA</StorageClass></Transition><Transition><Days>90</Days><StorageClass>GLACIER</StorageClass></Transition></Rule>';
const COLD_LOGS = {
  id: 'cold-logs',
  prefix: 'logs/',
  transitions: [
    { days: 30, storageClass: 'STANDARD_IA' },
    { days: 90, storageClass: 'GLACIER' },
  ],
};

const lifecycleXml = (rules: string[]) =>
  `<?xml version="1.0" encoding="UTF-8"?><LifecycleConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${rules.join('')}</LifecycleConfiguration>`;

let server: S3LifecycleServer;
let lifecycle: S3BucketLifecycle;
let activities: ReturnType<typeof createStorageActivities>;

beforeAll(async () => {
  server = await startS3LifecycleServer(BUCKETS);
  lifecycle = new S3BucketLifecycle({
    endpoint: server.url,
    region: 'eu-west-1',
    forcePathStyle: true,
    credentials: SIMULATOR_S3_CREDENTIALS,
    maxAttempts: 2,
  });
  activities = createStorageActivities(lifecycle);
});
afterAll(() => server.close());
beforeEach(async () => {
  for (const bucket of BUCKETS) server.buckets.set(bucket, null);
  await lifecycle.putLifecycle('llm-logs', FOREIGN_CONFIGURATION);
  server.resetLog();
});

const request = (bucket: string, params: unknown, overrides: Partial<ActionRequest> = {}): ActionRequest => ({
  target: { kind: 'bucket', key: `bucket=${bucket}`, labels: { bucket } },
  params,
  idempotencyKey: `run-1/cold-logs/apply`,
  purpose: 'apply',
  dryRun: false,
  ...overrides,
});

const undoOf = async (bucket: string, outcome: ActionOutcome) =>
  activities[outcome.undo!.action as 'storage.restoreLifecycle'](
    request(bucket, outcome.undo!.params, { purpose: 'undo', idempotencyKey: 'run-1/cold-logs/undo' }),
  );

const failureOf = (promise: Promise<unknown>) =>
  promise.then(
    () => {
      throw new Error('expected the activity to fail');
    },
    (error: unknown) => error as ApplicationFailure,
  );

test('adds the rules after the ones already there, and the undo puts back exactly what was there', async () => {
  const outcome = await activities['storage.addLifecycleRules'](request('llm-logs', { rules: [COLD_LOGS] }));

  expect(outcome).toEqual({
    summary:
      'bucket llm-logs: lifecycle rules +finops-soar:cold-logs (logs/*: 30d → STANDARD_IA, 90d → GLACIER) (2 kept)',
    previous: FOREIGN_CONFIGURATION,
    undo: {
      action: 'storage.restoreLifecycle',
      params: { previous: FOREIGN_CONFIGURATION, remove: ['finops-soar:cold-logs'] },
    },
  });
  expect(server.requests.map(({ method, path, contentType }) => ({ method, path, contentType }))).toEqual([
    { method: 'GET', path: LIFECYCLE_PATH('llm-logs'), contentType: undefined },
    { method: 'PUT', path: LIFECYCLE_PATH('llm-logs'), contentType: 'application/xml' },
  ]);
  const put = server.requests[1]!;
  expect(put.body).toBe(lifecycleXml([...FOREIGN_RULES_XML, COLD_LOGS_XML]));
  expect(Object.keys(put.checksums)).toEqual(['x-amz-checksum-crc32']);
  expect(server.buckets.get('llm-logs')).toEqual({
    rules: [...FOREIGN_RULES_XML, COLD_LOGS_XML],
    transitionDefaultMinimumObjectSize: 'varies_by_storage_class',
  });

  server.resetLog();
  const undone = await undoOf('llm-logs', outcome);
  expect(undone.summary).toBe('bucket llm-logs: lifecycle rules -finops-soar:cold-logs; restored as before (2 rules)');
  expect(undone.undo).toEqual({ action: 'storage.addLifecycleRules', params: { rules: [COLD_LOGS] } });
  expect(server.requests.map(({ method, body }) => ({ method, body }))).toEqual([
    { method: 'GET', body: '' },
    { method: 'PUT', body: lifecycleXml(FOREIGN_RULES_XML) },
  ]);
  expect(server.buckets.get('llm-logs')).toEqual({
    rules: FOREIGN_RULES_XML,
    transitionDefaultMinimumObjectSize: 'varies_by_storage_class',
  });
  expect(await lifecycle.getLifecycle('llm-logs')).toEqual(FOREIGN_CONFIGURATION);
});

test('a bucket without a configuration gets none back on undo (DeleteBucketLifecycle)', async () => {
  const outcome = await activities['storage.addLifecycleRules'](
    request('empty-bucket', { rules: [{ id: 'expire-scratch', expirationDays: 7 }] }),
  );
  expect(outcome.previous).toBeNull();
  expect(outcome.summary).toBe(
    'bucket empty-bucket: lifecycle rules +finops-soar:expire-scratch (7d → expire) (0 kept)',
  );
  expect(server.buckets.get('empty-bucket')?.rules).toEqual([
    '<Rule><Status>Enabled</Status><Expiration><Days>7</Days></Expiration><ID>finops-soar:expire-scratch</ID><Filter><Prefix></Prefix></Filter></Rule>',
  ]);

  server.resetLog();
  const undone = await undoOf('empty-bucket', outcome);
  expect(undone.summary).toBe(
    'bucket empty-bucket: lifecycle rules -finops-soar:expire-scratch; no configuration, as before',
  );
  expect(server.requests.map(({ method, path }) => `${method} ${path}`)).toEqual([
    `GET ${LIFECYCLE_PATH('empty-bucket')}`,
    `DELETE ${LIFECYCLE_PATH('empty-bucket')}`,
  ]);
  expect(server.buckets.get('empty-bucket')).toBeNull();
  expect(await lifecycle.getLifecycle('empty-bucket')).toBeNull();

  server.resetLog();
  const again = await undoOf('empty-bucket', outcome);
  expect(again).toMatchObject({
    summary:
      'bucket empty-bucket: lifecycle rules finops-soar:expire-scratch already gone; no configuration, as before',
    undo: null,
  });
  expect(server.mutations).toBe(0);
});

test('a second apply with the same key sends no PUT and answers the same previous', async () => {
  const first = await activities['storage.addLifecycleRules'](request('llm-logs', { rules: [COLD_LOGS] }));
  const second = await activities['storage.addLifecycleRules'](request('llm-logs', { rules: [COLD_LOGS] }));
  expect(second).toEqual(first);
  expect(server.mutations).toBe(1);
  expect(server.requests.map(({ method }) => method)).toEqual(['GET', 'PUT', 'GET']);
});

test('the undo keeps rules others changed after the step, and removes only ours', async () => {
  const outcome = await activities['storage.addLifecycleRules'](request('llm-logs', { rules: [COLD_LOGS] }));
  const [expireTmp, archiveAudit, coldLogs] = (await lifecycle.getLifecycle('llm-logs'))!.rules;
  const editedSince = { ...expireTmp!, Status: 'Disabled' as const };
  await lifecycle.putLifecycle('llm-logs', {
    rules: [editedSince, archiveAudit!, coldLogs!],
    transitionDefaultMinimumObjectSize: 'varies_by_storage_class',
  });

  const undone = await undoOf('llm-logs', outcome);
  expect(undone.summary).toBe(
    'bucket llm-logs: lifecycle rules -finops-soar:cold-logs; kept 2 rules changed since the step (expire-tmp, archive-audit)',
  );
  expect(await lifecycle.getLifecycle('llm-logs')).toEqual({
    rules: [editedSince, archiveAudit],
    transitionDefaultMinimumObjectSize: 'varies_by_storage_class',
  });
});

test('a rule of ours that is already there with other settings is refused, naming both', async () => {
  const stale: LifecycleRule = {
    ID: 'finops-soar:cold-logs',
    Status: 'Enabled',
    Filter: { Prefix: 'logs/' },
    Transitions: [{ Days: 60, StorageClass: 'GLACIER' }],
  };
  await lifecycle.putLifecycle('llm-traces', { rules: [stale] });
  server.resetLog();

  const failure = await failureOf(
    activities['storage.addLifecycleRules'](request('llm-traces', { rules: [COLD_LOGS] })),
  );
  expect(failure).toBeInstanceOf(ApplicationFailure);
  expect(failure).toMatchObject({ type: 'LifecycleRuleConflict', nonRetryable: true });
  expect(failure.message).toMatch(
    /^bucket llm-traces: the playbook rule cold-logs would be written as finops-soar:cold-logs, but the bucket already has a rule finops-soar:cold-logs with other settings/,
  );
  expect(failure.message).toMatch(
    /Fix: rename the playbook rule, or remove the bucket's rule finops-soar:cold-logs if it is stale$/,
  );
  expect(server.mutations).toBe(0);
});

test('a missing bucket is not retryable and says what to fix', async () => {
  const failure = await failureOf(
    activities['storage.addLifecycleRules'](request('no-such-bucket', { rules: [COLD_LOGS] })),
  );
  expect(failure).toMatchObject({
    type: 'S3Rejected',
    nonRetryable: true,
    details: [{ code: 'NoSuchBucket', status: 404 }],
  });
  expect(failure.message).toBe(
    "S3 GetBucketLifecycleConfiguration on bucket no-such-bucket failed: NoSuchBucket (404): The specified bucket does not exist. Fix: check that the alert's bucket label names an existing bucket in the configured region and endpoint",
  );
  expect(server.requests).toHaveLength(1);
});

test('a 500 is retried a bounded number of times by the client, then classified retryable for Temporal', async () => {
  server.failNext(2, {
    status: 500,
    code: 'InternalError',
    message: 'We encountered an internal error. Please try again.',
  });
  const failure = await failureOf(activities['storage.addLifecycleRules'](request('llm-logs', { rules: [COLD_LOGS] })));
  expect(failure).toMatchObject({
    type: 'S3Unavailable',
    nonRetryable: false,
    details: [{ code: 'InternalError', status: 500 }],
  });
  expect(failure.message).toMatch(
    /^S3 GetBucketLifecycleConfiguration on bucket llm-logs failed: InternalError \(500\): .*S3 is unavailable or throttling; the activity retries$/,
  );
  expect(server.requests.map(({ method }) => method)).toEqual(['GET', 'GET']);

  const retried = await activities['storage.addLifecycleRules'](request('llm-logs', { rules: [COLD_LOGS] }));
  expect(retried.previous).toEqual(FOREIGN_CONFIGURATION);
  expect(server.mutations).toBe(1);
});

test('SlowDown is retryable; rules S3 refuses are not', async () => {
  server.failNext(2, { status: 503, code: 'SlowDown', message: 'Please reduce your request rate.' });
  expect(await lifecycle.getLifecycle('llm-logs').catch((error: unknown) => error)).toMatchObject({
    retryable: true,
    code: 'SlowDown',
    status: 503,
  });

  const tooEarly: LifecycleRule = {
    ID: 'ia-too-early',
    Status: 'Enabled',
    Filter: { Prefix: '' },
    Transitions: [{ Days: 7, StorageClass: 'STANDARD_IA' }],
  };
  const refused = (await lifecycle
    .putLifecycle('llm-logs', { rules: [tooEarly] })
    .catch((error: unknown) => error)) as LifecycleError;
  expect(refused).toBeInstanceOf(LifecycleError);
  expect(refused).toMatchObject({ retryable: false, code: 'InvalidArgument', status: 400 });
  expect(refused.message).toBe(
    "S3 PutBucketLifecycleConfiguration on bucket llm-logs failed: InvalidArgument (400): 'Days' in Transition action must be greater than or equal to 30 for storageClass 'STANDARD_IA'. " +
      "Fix: S3 refused the rules as written: correct the playbook step's rules (or the bucket's existing rules) and run it again",
  );
});

test('wrong credentials are not retryable and name the permission to grant', async () => {
  const stranger = new S3BucketLifecycle({
    endpoint: server.url,
    region: 'eu-west-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'AKIAUNKNOWN', secretAccessKey: 'x' },
  });
  const error = (await stranger.getLifecycle('llm-logs').catch((failure: unknown) => failure)) as LifecycleError;
  expect(error).toMatchObject({ retryable: false, code: 'InvalidAccessKeyId', status: 403 });
  expect(error.message).toMatch(
    /Fix: give the worker's S3 credentials s3:GetLifecycleConfiguration and s3:PutLifecycleConfiguration on arn:aws:s3:::llm-logs$/,
  );
});

test('an unreachable endpoint is retryable', async () => {
  const unreachable = new S3BucketLifecycle({
    endpoint: `http://127.0.0.1:${await freePort()}`,
    region: 'eu-west-1',
    forcePathStyle: true,
    credentials: SIMULATOR_S3_CREDENTIALS,
    maxAttempts: 1,
  });
  const error = (await unreachable.getLifecycle('llm-logs').catch((failure: unknown) => failure)) as LifecycleError;
  expect(error).toMatchObject({ retryable: true, code: 'ECONNREFUSED' });
  expect(error.message).toMatch(
    /^S3 GetBucketLifecycleConfiguration on bucket llm-logs failed: ECONNREFUSED \(S3 endpoint unreachable or too slow; the activity retries\)/,
  );
});

test('the server refuses a PUT without a payload checksum, as S3 does', async () => {
  const response = await fetch(`${server.url}${LIFECYCLE_PATH('llm-logs')}`, {
    method: 'PUT',
    headers: {
      Authorization: `AWS4-HMAC-SHA256 Credential=${SIMULATOR_S3_CREDENTIALS.accessKeyId}/20260101/eu-west-1/s3/aws4_request`,
      'Content-Type': 'application/xml',
    },
    body: lifecycleXml([COLD_LOGS_XML]),
  });
  expect(response.status).toBe(400);
  expect(await response.text()).toContain(
    '<Code>InvalidRequest</Code><Message>Missing required header for this request: Content-MD5</Message>',
  );
  expect(server.mutations).toBe(0);
});
