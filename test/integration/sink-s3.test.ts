// S3 bucket names, lifecycle prefixes and rule ids from alert labels (or params templated from them), through the
// activities and the real @aws-sdk/client-s3 against the wire-level S3 server (simulator/s3-lifecycle-api.ts).
// What it proves:
// - a bucket label that is a valid S3 bucket name reaches exactly GET /<bucket>/?lifecycle=; any other (path and
//   URL metacharacters, "..", an IP address, reserved prefixes and suffixes, unicode, too long) is refused naming
//   the label and the rule, and S3 receives no request (1,000 cases);
// - a rule's prefix S3 can store (at most 1024 bytes of UTF-8, characters XML 1.0 carries, not only whitespace) is
//   written and read back exactly; any other is refused before any request (400 cases);
// - a rule id is at most 255 characters on the wire, namespaced, or refused before any request (200 cases).
import type { ApplicationFailure } from '@temporalio/common';
import fc from 'fast-check';
import type { ActionRequest } from '../../activities/action-contract';
import {
  SIMULATOR_S3_CREDENTIALS,
  startS3LifecycleServer,
  type S3LifecycleServer,
} from '../../simulator/s3-lifecycle-api';
import { createStorageActivities } from '../../storage/lifecycle-activities';
import { LifecycleError, S3BucketLifecycle } from '../../storage/lifecycle-client';

let server: S3LifecycleServer;
let lifecycle: S3BucketLifecycle;
let activities: ReturnType<typeof createStorageActivities>;

beforeAll(async () => {
  server = await startS3LifecycleServer(['llm-logs']);
  lifecycle = new S3BucketLifecycle({
    endpoint: server.url,
    region: 'eu-west-1',
    forcePathStyle: true,
    credentials: SIMULATOR_S3_CREDENTIALS,
    maxAttempts: 1,
  });
  activities = createStorageActivities(lifecycle);
});
afterAll(() => server.close());

// S3's general purpose bucket naming rules, written here independently of storage/lifecycle-steps.ts
// (https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html).
const isBucketName = (name: string) =>
  name.length >= 3 &&
  name.length <= 63 &&
  /^[a-z0-9.-]+$/.test(name) &&
  /^[a-z0-9]/.test(name) &&
  /[a-z0-9]$/.test(name) &&
  !name.includes('..') &&
  !/^\d+\.\d+\.\d+\.\d+$/.test(name) &&
  !['xn--', 'sthree-', 'amzn-s3-demo-'].some((prefix) => name.startsWith(prefix)) &&
  !['-s3alias', '--ol-s3', '.mrap', '--x-s3', '--table-s3'].some((suffix) => name.endsWith(suffix));

const validBucket = fc.stringMatching(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/);
const BUCKET_TRICKS = [
  'ab',
  'a'.repeat(64),
  'LLM-logs',
  'llm_logs',
  'llm/logs',
  '../llm-logs',
  'llm-logs/..',
  'llm..logs',
  '.llm-logs',
  'llm-logs.',
  'llm-logs?versioning',
  'llm-logs#x',
  'llm-logs%2F..',
  'llm-logs\u0000',
  'llm-logs\n',
  '192.168.5.4',
  'xn--llm-logs',
  'sthree-logs',
  'amzn-s3-demo-logs',
  'logs-s3alias',
  'logs--ol-s3',
  'logs.mrap',
  'logs--x-s3',
  'logs--table-s3',
  'llm-lögs',
  'evil.example.com#',
];
const hostile = fc
  .oneof(
    fc.constantFrom(...BUCKET_TRICKS),
    fc.string({ unit: 'binary', maxLength: 100 }),
    fc.string({ unit: fc.constantFrom(...'./%?#-az09\\:@ A_\u0000'.split('')), minLength: 1, maxLength: 70 }),
    fc
      .tuple(validBucket, fc.constantFrom('/', '..', '?', '#', '%2F', 'A', '_', ' '), validBucket)
      .map((parts) => parts.join('')),
  )
  .filter((value) => value !== '');

const request = (bucket: string, params: unknown): ActionRequest => ({
  target: { kind: 'bucket', key: `bucket=${bucket}`, labels: { bucket } },
  params,
  idempotencyKey: 'run-1/tier/apply',
  purpose: 'apply',
  dryRun: false,
});

const failureOf = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (error: unknown) => error as ApplicationFailure,
  );

test('a bucket label reaches S3 exactly as its own path when it is a valid bucket name, and not at all otherwise', async () => {
  await fc.assert(
    fc.asyncProperty(fc.oneof(validBucket, hostile), async (bucket) => {
      server.resetLog();
      const valid = isBucketName(bucket);
      if (valid) server.buckets.set(bucket, null);
      const outcome = activities['storage.getLifecycle'](request(bucket, {}));
      if (valid) {
        await expect(outcome).resolves.toEqual({ ruleCount: 0, ruleIds: [] });
        expect(server.requests.map(({ method, path }) => `${method} ${path}`)).toEqual([`GET /${bucket}/?lifecycle=`]);
      } else {
        const failure = await failureOf(outcome);
        expect(failure?.type).toBe('InvalidTarget');
        expect(failure?.nonRetryable).toBe(true);
        expect(failure?.message).toContain(`the alert's label bucket `);
        expect(failure?.message).toContain('is not a valid S3 bucket name (an S3 bucket name ');
        expect(server.requests).toEqual([]);
      }
    }),
    { numRuns: 1_000 },
  );
});

// What S3 can store as a prefix, written independently: an object key of at most 1024 bytes, in XML 1.0 text.
// A whitespace-only prefix is refused too: the SDK reads one with a line break back as "".
const isStorablePrefix = (prefix: string) =>
  new TextEncoder().encode(prefix).length <= 1024 &&
  (prefix === '' || prefix.trim() !== '') &&
  [...prefix].every((char) => {
    const code = char.codePointAt(0)!;
    return (
      code === 0x9 ||
      code === 0xa ||
      code === 0xd ||
      (code >= 0x20 && code <= 0xd7ff) ||
      (code >= 0xe000 && code <= 0xfffd) ||
      code >= 0x10000
    );
  });

const hostilePrefix = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.string({ unit: fc.constantFrom(...'<>&"\'/.\u0000\u0001\t\n\r\u2028\ufffe\uffff]]>'.split('')), maxLength: 40 }),
  fc.string({ unit: 'grapheme', minLength: 300, maxLength: 1_100 }),
  fc.string({ unit: 'grapheme-ascii', minLength: 1_000, maxLength: 1_030 }),
  fc.constantFrom(
    'logs/',
    '\n',
    ' \n ',
    '\t\n',
    '</Prefix><Expiration><Days>1</Days></Expiration><Prefix>',
    ']]>',
    '&amp;',
    'ü'.repeat(513),
  ),
);

test('a prefix S3 can store is written and read back exactly; any other is refused before any request', async () => {
  await fc.assert(
    fc.asyncProperty(hostilePrefix, async (prefix) => {
      server.buckets.set('llm-logs', null);
      server.resetLog();
      const rule = { id: 'cold', prefix, transitions: [{ days: 30, storageClass: 'STANDARD_IA' }] };
      const outcome = await failureOf(activities['storage.addLifecycleRules'](request('llm-logs', { rules: [rule] })));
      if (isStorablePrefix(prefix)) {
        expect(outcome).toBeUndefined();
        expect(server.requests.map(({ method }) => method)).toEqual(['GET', 'PUT']);
        const stored = await lifecycle.getLifecycle('llm-logs');
        expect(stored?.rules.map((written) => [written.ID, written.Filter?.Prefix])).toEqual([
          ['finops-soar:cold', prefix],
        ]);
      } else {
        expect(outcome?.type).toBe('InvalidParams');
        expect(outcome?.message).toMatch(/rules\[0\]\.prefix: a prefix /);
        expect(server.requests).toEqual([]);
      }
    }),
    { numRuns: 400 },
  );
});

test('a rule id goes on the wire namespaced and at most 255 characters, or is refused before any request', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.oneof(
        fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,250}$/),
        fc.string({ unit: 'binary', maxLength: 300 }),
        fc.constantFrom('</ID><Status>Disabled', '-cold', '../cold', 'cold id', 'x'.repeat(243), 'x'.repeat(244)),
      ),
      async (id) => {
        server.buckets.set('llm-logs', null);
        server.resetLog();
        const rule = { id, transitions: [{ days: 30, storageClass: 'STANDARD_IA' }] };
        const outcome = await failureOf(
          activities['storage.addLifecycleRules'](request('llm-logs', { rules: [rule] })),
        );
        const accepted = /^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(id) && `finops-soar:${id}`.length <= 255;
        if (accepted) {
          expect(outcome).toBeUndefined();
          const put = server.requests.find(({ method }) => method === 'PUT')!;
          expect(/<ID>([^<]*)<\/ID>/.exec(put.body)?.[1]).toBe(`finops-soar:${id}`);
        } else {
          expect(outcome?.type).toBe('InvalidParams');
          expect(server.requests).toEqual([]);
        }
      },
    ),
    { numRuns: 200 },
  );
});

test('regression: the client refuses an invalid bucket itself, not retryably, and sends nothing', async () => {
  server.resetLog();
  const error = await lifecycle.getLifecycle('../llm-logs').catch((caught: unknown) => caught);
  expect(error).toBeInstanceOf(LifecycleError);
  expect((error as LifecycleError).retryable).toBe(false);
  expect((error as LifecycleError).code).toBe('InvalidBucketName');
  expect(server.requests).toEqual([]);
});
