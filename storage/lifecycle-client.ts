// A bucket's S3 lifecycle configuration through @aws-sdk/client-s3: read, replace, delete. Rules are
// carried as JSON (dates as ISO strings) so a configuration can travel through workflow history and
// be put back exactly as it was read.
import {
  DeleteBucketLifecycleCommand,
  GetBucketLifecycleConfigurationCommand,
  PutBucketLifecycleConfigurationCommand,
  S3Client,
  S3ServiceException,
  type LifecycleRule as SdkLifecycleRule,
  type TransitionDefaultMinimumObjectSize,
} from '@aws-sdk/client-s3';
import { s3BucketNameProblem } from './lifecycle-steps';

type WithIsoDate<T> = Omit<T, 'Date'> & { Date?: string };

/** An S3 lifecycle rule as the SDK reads it, with `Date` fields as ISO 8601 strings. */
export type LifecycleRule = Omit<SdkLifecycleRule, 'Expiration' | 'Transitions'> & {
  Expiration?: WithIsoDate<NonNullable<SdkLifecycleRule['Expiration']>>;
  Transitions?: Array<WithIsoDate<NonNullable<SdkLifecycleRule['Transitions']>[number]>>;
};

/** A bucket's whole lifecycle configuration: what PutBucketLifecycleConfiguration replaces. */
export interface LifecycleConfiguration {
  rules: LifecycleRule[];
  /** S3's `x-amz-transition-default-minimum-object-size`; kept so a restore puts back the same setting. */
  transitionDefaultMinimumObjectSize?: string;
}

export interface BucketLifecycle {
  /** The bucket's configuration, or null when it has none (S3 answers NoSuchLifecycleConfiguration). */
  getLifecycle(bucket: string): Promise<LifecycleConfiguration | null>;
  /** Replaces the bucket's whole configuration. */
  putLifecycle(bucket: string, configuration: LifecycleConfiguration): Promise<void>;
  /** Removes the configuration; the bucket then has none. */
  deleteLifecycle(bucket: string): Promise<void>;
}

/** A failed S3 call; `retryable` says whether trying again can help. */
export class LifecycleError extends Error {
  override name = 'LifecycleError';
  constructor(
    message: string,
    readonly retryable: boolean,
    /** S3's error code (NoSuchBucket, AccessDenied…) or the transport error's code. */
    readonly code: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

export interface S3LifecycleOptions {
  /** e.g. `https://s3.eu-west-1.amazonaws.com` or a MinIO/Ceph URL; unset: the region's AWS endpoint. */
  endpoint?: string;
  region: string;
  /** Path-style addressing (`/{bucket}`), which most S3-compatible servers need. */
  forcePathStyle?: boolean;
  /** Unset: the SDK's default chain (environment, profile, instance role). */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Attempts inside one activity attempt; Temporal's retry policy does the rest, so keep it small. */
  maxAttempts?: number;
  timeoutMs?: number;
}

const RETRYABLE_CODES = new Set([
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'RequestTimeout',
  'RequestTimeTooSkewed',
  'InternalError',
  'ServiceUnavailable',
  'TimeoutError',
]);
const TRANSPORT_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENOTFOUND',
  'EHOSTUNREACH',
]);
const TRANSPORT_CODE_IN_TEXT = new RegExp(`\\b(${[...TRANSPORT_CODES].join('|')})\\b`);

const fixFor = (code: string, bucket: string): string => {
  switch (code) {
    case 'NoSuchBucket':
      return `check that the alert's bucket label names an existing bucket in the configured region and endpoint`;
    case 'AccessDenied':
    case 'InvalidAccessKeyId':
    case 'SignatureDoesNotMatch':
      return `give the worker's S3 credentials s3:GetLifecycleConfiguration and s3:PutLifecycleConfiguration on arn:aws:s3:::${bucket}`;
    case 'MalformedXML':
    case 'InvalidArgument':
    case 'InvalidRequest':
      return `S3 refused the rules as written: correct the playbook step's rules (or the bucket's existing rules) and run it again`;
    default:
      return `see the S3 error code ${code}`;
  }
};

function toLifecycleError(error: unknown, operation: string, bucket: string): LifecycleError {
  const where = `S3 ${operation} on bucket ${bucket}`;
  if (error instanceof S3ServiceException) {
    const status = error.$metadata.httpStatusCode;
    const retryable =
      RETRYABLE_CODES.has(error.name) || status === undefined || status >= 500 || status === 429 || status === 408;
    const fix = retryable ? 'S3 is unavailable or throttling; the activity retries' : fixFor(error.name, bucket);
    return new LifecycleError(
      `${where} failed: ${error.name} (${status ?? 'no status'}): ${error.message}. Fix: ${fix}`,
      retryable,
      error.name,
      status,
    );
  }
  const failure = error as { name?: string; code?: string; message?: string };
  // The SDK rewraps a non-Error throw (a socket error from another realm, as under jest) as
  // `AWS SDK error wrapper for Error: connect ECONNREFUSED …`, losing `code` but keeping the text.
  const code = failure.code ?? TRANSPORT_CODE_IN_TEXT.exec(failure.message ?? '')?.[1] ?? failure.name ?? 'Error';
  if (TRANSPORT_CODES.has(code) || RETRYABLE_CODES.has(code)) {
    return new LifecycleError(
      `${where} failed: ${code} (S3 endpoint unreachable or too slow; the activity retries): ${failure.message ?? ''}`,
      true,
      code,
    );
  }
  return new LifecycleError(`${where} failed: ${failure.message ?? String(error)}`, false, code);
}

const toIsoDates = (rule: SdkLifecycleRule): LifecycleRule => JSON.parse(JSON.stringify(rule)) as LifecycleRule;

const toSdkRule = ({ Expiration, Transitions, ...rule }: LifecycleRule): SdkLifecycleRule => ({
  ...rule,
  ...(Expiration && {
    Expiration: { ...Expiration, Date: Expiration.Date === undefined ? undefined : new Date(Expiration.Date) },
  }),
  ...(Transitions && {
    Transitions: Transitions.map((transition) => ({
      ...transition,
      Date: transition.Date === undefined ? undefined : new Date(transition.Date),
    })),
  }),
});

/** The last check before a bucket name goes into a request: one S3 would refuse is refused here, nothing sent. */
function refuseInvalidBucket(bucket: string, operation: string): void {
  const problem = s3BucketNameProblem(bucket);
  if (problem)
    throw new LifecycleError(
      `S3 ${operation}: ${JSON.stringify(bucket.slice(0, 80))} is not a bucket name (${problem}); nothing was sent`,
      false,
      'InvalidBucketName',
    );
}

/** An S3 client for `options`, trying each request `options.maxAttempts` times (else `defaultAttempts`). */
export function s3ClientFrom(options: S3LifecycleOptions, defaultAttempts: number): S3Client {
  const timeoutMs = options.timeoutMs ?? 10_000;
  return new S3Client({
    region: options.region,
    ...(options.endpoint && { endpoint: options.endpoint }),
    forcePathStyle: options.forcePathStyle ?? false,
    ...(options.credentials && { credentials: options.credentials }),
    maxAttempts: options.maxAttempts ?? defaultAttempts,
    requestHandler: { connectionTimeout: timeoutMs, requestTimeout: timeoutMs },
  });
}

/** The lifecycle API of one S3 (or S3-compatible) endpoint. */
export class S3BucketLifecycle implements BucketLifecycle {
  private readonly s3: S3Client;

  constructor(options: S3LifecycleOptions) {
    this.s3 = s3ClientFrom(options, 2);
  }

  async getLifecycle(bucket: string): Promise<LifecycleConfiguration | null> {
    refuseInvalidBucket(bucket, 'GetBucketLifecycleConfiguration');
    try {
      const output = await this.s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: bucket }));
      return {
        rules: (output.Rules ?? []).map(toIsoDates),
        ...(output.TransitionDefaultMinimumObjectSize && {
          transitionDefaultMinimumObjectSize: output.TransitionDefaultMinimumObjectSize,
        }),
      };
    } catch (error) {
      if (error instanceof S3ServiceException && error.name === 'NoSuchLifecycleConfiguration') return null;
      throw toLifecycleError(error, 'GetBucketLifecycleConfiguration', bucket);
    }
  }

  async putLifecycle(bucket: string, configuration: LifecycleConfiguration): Promise<void> {
    refuseInvalidBucket(bucket, 'PutBucketLifecycleConfiguration');
    try {
      await this.s3.send(
        new PutBucketLifecycleConfigurationCommand({
          Bucket: bucket,
          LifecycleConfiguration: { Rules: configuration.rules.map(toSdkRule) },
          ...(configuration.transitionDefaultMinimumObjectSize && {
            TransitionDefaultMinimumObjectSize:
              configuration.transitionDefaultMinimumObjectSize as TransitionDefaultMinimumObjectSize,
          }),
        }),
      );
    } catch (error) {
      throw toLifecycleError(error, 'PutBucketLifecycleConfiguration', bucket);
    }
  }

  async deleteLifecycle(bucket: string): Promise<void> {
    refuseInvalidBucket(bucket, 'DeleteBucketLifecycle');
    try {
      await this.s3.send(new DeleteBucketLifecycleCommand({ Bucket: bucket }));
    } catch (error) {
      throw toLifecycleError(error, 'DeleteBucketLifecycle', bucket);
    }
  }
}
