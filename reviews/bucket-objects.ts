// A bucket's objects through S3's ListObjectsV2 (@aws-sdk/client-s3), a page of up to 1,000 at a time: what the
// lifecycle review counts by storage class and age. A bucket of millions of objects takes a request per thousand;
// for those, S3 Inventory's daily report is the cheaper source (docs/reviews.md).
import { paginateListObjectsV2, S3ServiceException, type S3Client } from '@aws-sdk/client-s3';
import { LifecycleError, s3ClientFrom, type S3LifecycleOptions } from '../storage/lifecycle-client';
import type { ListedObject } from './lifecycle-figures';

export interface BucketObjects {
  /** Every object of the bucket; `onPage` is called after each page (the activity heartbeats there). */
  list(bucket: string, onPage?: () => void): AsyncIterable<ListedObject>;
}

export class S3BucketObjects implements BucketObjects {
  private readonly s3: S3Client;

  constructor(options: S3LifecycleOptions) {
    this.s3 = s3ClientFrom(options, 3);
  }

  async *list(bucket: string, onPage?: () => void): AsyncIterable<ListedObject> {
    try {
      for await (const page of paginateListObjectsV2({ client: this.s3 }, { Bucket: bucket })) {
        for (const object of page.Contents ?? [])
          yield {
            size: object.Size ?? 0,
            // S3 leaves StorageClass out of no listing, but S3-compatible servers may: STANDARD is their default.
            storageClass: object.StorageClass ?? 'STANDARD',
            lastModified: (object.LastModified ?? new Date(0)).toISOString(),
          };
        onPage?.();
      }
    } catch (error) {
      if (!(error instanceof S3ServiceException)) throw error;
      const status = error.$metadata.httpStatusCode;
      const retryable = status === undefined || status >= 500 || status === 429;
      const fix =
        error.name === 'NoSuchBucket'
          ? `remove it from storage.review.buckets, or check storage.s3.region and endpoint`
          : error.name === 'AccessDenied'
            ? `give the worker's S3 credentials s3:ListBucket on arn:aws:s3:::${bucket}`
            : `see the S3 error code ${error.name}`;
      throw new LifecycleError(
        `S3 ListObjectsV2 on bucket ${bucket} failed: ${error.name} (${status ?? 'no status'}): ${error.message}. Fix: ${fix}`,
        retryable,
        error.name,
        status,
      );
    }
  }
}
