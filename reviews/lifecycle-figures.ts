// The quarterly lifecycle review's numbers: a bucket's objects and bytes by storage class and by age, and what moving
// its cold data to a cheaper class would save a month. Pure, so the arithmetic is tested directly and the activity
// only lists objects.
import type { LifecycleRule } from '../storage/lifecycle-client';

export interface ListedObject {
  size: number;
  storageClass: string;
  /** ISO time of the object's last modification: its age for lifecycle rules. */
  lastModified: string;
}

/** Age bands in days, lower bound included: the thresholds lifecycle rules commonly use (30, 90, 180, 365). */
export const AGE_BANDS = [
  { label: '0-30 days', from: 0, to: 30 },
  { label: '30-90 days', from: 30, to: 90 },
  { label: '90-180 days', from: 90, to: 180 },
  { label: '180-365 days', from: 180, to: 365 },
  { label: '365+ days', from: 365, to: Infinity },
] as const;

export interface Tally {
  objects: number;
  bytes: number;
}

export interface BucketFigures {
  bucket: string;
  /** The lifecycle rules in force (null: the bucket has no lifecycle configuration). */
  rules: LifecycleRule[] | null;
  total: Tally;
  byClass: Record<string, Tally>;
  /** Per age band, per storage class. */
  byAge: Array<{ band: string; total: Tally; byClass: Record<string, Tally> }>;
  /** Objects older than coldAfterDays in a class dearer than moveTo, and what moving them saves a month. */
  cold: {
    olderThanDays: number;
    moveTo: string;
    byClass: Record<string, Tally & { savedUsdPerMonth: number }>;
    savedUsdPerMonth: number;
  };
  /** Storage classes seen without a configured price: their bytes count, their savings cannot. */
  unpriced: string[];
  /** Why the bucket could not be read, when it could not. */
  problem?: string;
}

/** S3 bills storage per GB-month of 2^30 bytes. */
export const GIB = 1024 ** 3;
const DAY_MS = 86_400_000;
const cents = (usd: number) => Math.round(usd * 100) / 100;

const add = (tallies: Record<string, Tally>, key: string, size: number) => {
  const tally = (tallies[key] ??= { objects: 0, bytes: 0 });
  tally.objects += 1;
  tally.bytes += size;
};

export interface LifecycleSettings {
  asOf: Date;
  coldAfterDays: number;
  moveTo: string;
  pricesPerGbMonth: Record<string, number>;
}

/**
 * Counts a bucket's objects one at a time, so a bucket of millions is counted in constant memory as its listing's
 * pages arrive; `figures` gives the result.
 */
export function bucketTally({ asOf, coldAfterDays, moveTo, pricesPerGbMonth }: LifecycleSettings) {
  const total: Tally = { objects: 0, bytes: 0 };
  const byClass: Record<string, Tally> = {};
  const byAge = AGE_BANDS.map((band) => ({ band: band.label, total: { objects: 0, bytes: 0 }, byClass: {} }));
  const coldByClass: Record<string, Tally> = {};
  const target = pricesPerGbMonth[moveTo];
  return {
    add(object: ListedObject): void {
      const ageDays = (asOf.getTime() - Date.parse(object.lastModified)) / DAY_MS;
      total.objects += 1;
      total.bytes += object.size;
      add(byClass, object.storageClass, object.size);
      // An object modified after the review's time (clocks apart) counts as the youngest.
      const band = AGE_BANDS.findIndex(({ from, to }) => ageDays >= from && ageDays < to);
      const age = byAge[Math.max(0, band)]!;
      age.total.objects += 1;
      age.total.bytes += object.size;
      add(age.byClass, object.storageClass, object.size);
      const price = pricesPerGbMonth[object.storageClass];
      if (ageDays >= coldAfterDays && price !== undefined && target !== undefined && price > target)
        add(coldByClass, object.storageClass, object.size);
    },
    figures(bucket: string, rules: LifecycleRule[] | null): BucketFigures {
      const cold = Object.fromEntries(
        Object.entries(coldByClass).map(([storageClass, tally]) => [
          storageClass,
          { ...tally, savedUsdPerMonth: cents((tally.bytes / GIB) * (pricesPerGbMonth[storageClass]! - target!)) },
        ]),
      );
      return {
        bucket,
        rules,
        total,
        byClass,
        byAge,
        cold: {
          olderThanDays: coldAfterDays,
          moveTo,
          byClass: cold,
          savedUsdPerMonth: cents(Object.values(cold).reduce((sum, c) => sum + c.savedUsdPerMonth, 0)),
        },
        unpriced: Object.keys(byClass)
          .filter((storageClass) => pricesPerGbMonth[storageClass] === undefined)
          .sort(),
      };
    },
  };
}

export function bucketFigures(
  bucket: string,
  rules: LifecycleRule[] | null,
  objects: Iterable<ListedObject>,
  settings: LifecycleSettings,
): BucketFigures {
  const tally = bucketTally(settings);
  for (const object of objects) tally.add(object);
  return tally.figures(bucket, rules);
}

/** A rule in a line: its id, filter, transitions and expiration, as S3 holds them. */
export function ruleLine(rule: LifecycleRule): string {
  const prefix = rule.Filter?.Prefix ?? rule.Prefix;
  const parts = [
    `${rule.ID ?? '(no id)'} (${rule.Status})`,
    prefix !== undefined ? `prefix "${prefix}"` : 'whole bucket',
    ...(rule.Transitions ?? []).map((t) => `to ${t.StorageClass} after ${t.Days ?? t.Date} days`),
    ...(rule.Expiration?.Days !== undefined ? [`expires after ${rule.Expiration.Days} days`] : []),
    ...(rule.NoncurrentVersionExpiration?.NoncurrentDays !== undefined
      ? [`old versions expire after ${rule.NoncurrentVersionExpiration.NoncurrentDays} days`]
      : []),
  ];
  return parts.join(', ');
}
