// Actions and checks on a bucket's S3 lifecycle configuration, through the BucketLifecycle adapter.
// PutBucketLifecycleConfiguration replaces the whole configuration and S3 has no idempotency keys,
// so every action reads first, and a retry recognises the engine's own rules (IDs namespaced
// finops-soar:) instead of recording anything: `previous` is what is there minus those rules.
import { ApplicationFailure } from '@temporalio/common';
import type { Target } from '../alerts/target';
import {
  RULE_ID_NAMESPACE,
  s3BucketNameProblem,
  STORAGE_ACTIONS,
  TRANSITION_STORAGE_CLASSES,
  type LifecycleRuleParams,
  type STORAGE_CHECKS,
} from './lifecycle-steps';
import {
  LifecycleError,
  type BucketLifecycle,
  type LifecycleConfiguration,
  type LifecycleRule,
} from './lifecycle-client';
import { parseParams, type ActionActivity, type CheckActivity } from '../activities/action-contract';

// S3 refuses a configuration with more rules than this.
const MAX_RULES_PER_CONFIGURATION = 1000;

type StorageActionName = keyof typeof STORAGE_ACTIONS;

export type StorageActivities = Record<StorageActionName, ActionActivity> &
  Record<keyof typeof STORAGE_CHECKS, CheckActivity>;

/** The target's bucket; a bucket label S3 would not accept as a name is refused before any request. */
function bucketOf(step: string, { labels }: Target): string {
  const bucket = labels.bucket ?? '';
  const problem = s3BucketNameProblem(bucket);
  if (problem)
    throw ApplicationFailure.nonRetryable(
      `${step}: the alert's label bucket ${JSON.stringify(bucket.length > 80 ? `${bucket.slice(0, 80)}…` : bucket)} is not a valid S3 bucket name (${problem}); refused before any request to S3`,
      'InvalidTarget',
    );
  return bucket;
}

async function callS3<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof LifecycleError) {
      throw error.retryable
        ? ApplicationFailure.retryable(error.message, 'S3Unavailable', { code: error.code, status: error.status })
        : ApplicationFailure.nonRetryable(error.message, 'S3Rejected', { code: error.code, status: error.status });
    }
    throw error;
  }
}

const namespaced = (id: string) => `${RULE_ID_NAMESPACE}${id}`;

const toS3Rule = ({ id, prefix, transitions, expirationDays }: LifecycleRuleParams): LifecycleRule => ({
  ID: namespaced(id),
  Status: 'Enabled',
  Filter: { Prefix: prefix ?? '' },
  ...(transitions.length > 0 && {
    Transitions: transitions.map(({ days, storageClass }) => ({ Days: days, StorageClass: storageClass })),
  }),
  ...(expirationDays !== undefined && { Expiration: { Days: expirationDays } }),
});

/**
 * The engine's own rule read back as step params, or undefined when it was changed into something the params cannot
 * say.
 */
function paramsRuleOf(rule: LifecycleRule): LifecycleRuleParams | undefined {
  const { ID, Status, Filter, Transitions, Expiration, ...rest } = rule;
  if (!ID?.startsWith(RULE_ID_NAMESPACE) || Status !== 'Enabled' || Object.keys(rest).length > 0) return undefined;
  if (!Filter || Object.keys(Filter).some((key) => key !== 'Prefix')) return undefined;
  const transitions = (Transitions ?? []).map(({ Days, StorageClass }) => ({ days: Days, storageClass: StorageClass }));
  const classes: readonly string[] = TRANSITION_STORAGE_CLASSES;
  if (
    transitions.some(({ days, storageClass }) => days === undefined || !storageClass || !classes.includes(storageClass))
  )
    return undefined;
  if (Expiration && (Expiration.Days === undefined || Object.keys(Expiration).length > 1)) return undefined;
  const params = {
    id: ID.slice(RULE_ID_NAMESPACE.length),
    ...(Filter.Prefix && { prefix: Filter.Prefix }),
    transitions: transitions as LifecycleRuleParams['transitions'],
    ...(Expiration && { expirationDays: Expiration.Days }),
  };
  return STORAGE_ACTIONS['storage.addLifecycleRules'].params.safeParse({ rules: [params] }).success
    ? params
    : undefined;
}

/** JSON with sorted keys and no undefined fields: two rules are the same when S3 would store the same thing. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).filter(([, field]) => field !== undefined);
    return `{${entries
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([key, field]) => `${JSON.stringify(key)}:${canonical(field)}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

const sameRule = (a: LifecycleRule, b: LifecycleRule) => canonical(a) === canonical(b);

/** `configuration` with `rules` instead of its own, or null (no configuration) when none are left. */
const withRules = (
  configuration: LifecycleConfiguration | null,
  rules: LifecycleRule[],
): LifecycleConfiguration | null =>
  rules.length === 0
    ? null
    : {
        rules,
        ...(configuration?.transitionDefaultMinimumObjectSize && {
          transitionDefaultMinimumObjectSize: configuration.transitionDefaultMinimumObjectSize,
        }),
      };

const describeRule = (rule: LifecycleRule): string => {
  const steps = [
    ...(rule.Transitions ?? []).map((transition) => `${transition.Days}d → ${transition.StorageClass}`),
    ...(rule.Expiration?.Days !== undefined ? [`${rule.Expiration.Days}d → expire`] : []),
  ];
  const scope = rule.Filter?.Prefix ? `${rule.Filter.Prefix}*: ` : '';
  return `+${rule.ID} (${scope}${steps.join(', ')})`;
};

const countRules = (count: number) => (count === 1 ? '1 rule' : `${count} rules`);

export function createStorageActivities(lifecycle: BucketLifecycle): StorageActivities {
  return {
    async 'storage.addLifecycleRules'({ target, params, dryRun }) {
      const bucket = bucketOf('storage.addLifecycleRules', target);
      const wanted = parseParams('storage.addLifecycleRules', params).rules.map(toS3Rule);
      const current = await callS3(() => lifecycle.getLifecycle(bucket));
      const currentRules = current?.rules ?? [];

      for (const rule of wanted) {
        const existing = currentRules.find((candidate) => candidate.ID === rule.ID);
        if (existing && !sameRule(existing, rule)) {
          throw ApplicationFailure.nonRetryable(
            `bucket ${bucket}: the playbook rule ${rule.ID!.slice(RULE_ID_NAMESPACE.length)} would be written as ${rule.ID}, but the bucket already has a rule ${existing.ID} ` +
              `with other settings (${canonical(existing)}), which this step did not write. Fix: rename the playbook rule, or remove the bucket's rule ${existing.ID} if it is stale`,
            'LifecycleRuleConflict',
          );
        }
      }
      const wantedIds = new Set(wanted.map((rule) => rule.ID));
      // Derived rather than recorded: a retry after a successful put finds the same rules minus ours.
      const previous = withRules(
        current,
        currentRules.filter((rule) => !wantedIds.has(rule.ID)),
      );
      const missing = wanted.filter((rule) => !currentRules.some((candidate) => candidate.ID === rule.ID));
      const keptCount = previous?.rules.length ?? 0;
      if (keptCount + wanted.length > MAX_RULES_PER_CONFIGURATION) {
        throw ApplicationFailure.nonRetryable(
          `bucket ${bucket}: ${keptCount} lifecycle rules are there and the step adds ${wanted.length}; S3 allows ${MAX_RULES_PER_CONFIGURATION}. Fix: merge rules on the bucket or in the playbook`,
          'LifecycleRuleLimit',
        );
      }
      const change = `bucket ${bucket}: lifecycle rules ${wanted.map(describeRule).join(', ')} (${keptCount} kept)`;

      if (dryRun) return { summary: `would change ${change}`, previous, undo: null };
      if (missing.length > 0)
        await callS3(() => lifecycle.putLifecycle(bucket, { ...current, rules: [...currentRules, ...missing] }));
      return {
        summary: change,
        previous,
        undo: { action: 'storage.restoreLifecycle', params: { previous, remove: [...wantedIds] } },
      };
    },

    async 'storage.restoreLifecycle'({ target, params, dryRun }) {
      const bucket = bucketOf('storage.restoreLifecycle', target);
      const parsed = parseParams('storage.restoreLifecycle', params);
      const previous = parsed.previous as LifecycleConfiguration | null;
      const remove = new Set(parsed.remove);
      const current = await callS3(() => lifecycle.getLifecycle(bucket));
      const currentRules = current?.rules ?? [];
      const removed = currentRules.filter((rule) => remove.has(rule.ID!));
      const others = currentRules.filter((rule) => !remove.has(rule.ID!));
      // Without our rules the bucket should be as it was; if someone changed it since, their rules stay.
      const asBefore = canonical(others) === canonical(previous?.rules ?? []);
      const restored = asBefore ? previous : withRules(current, others);
      const outcome = restored
        ? asBefore
          ? `restored as before (${countRules(restored.rules.length)})`
          : `kept ${countRules(restored.rules.length)} changed since the step (${restored.rules.map((rule) => rule.ID ?? '(no id)').join(', ')})`
        : 'no configuration, as before';
      const summary = `bucket ${bucket}: lifecycle rules ${removed.length > 0 ? removed.map((rule) => `-${rule.ID}`).join(', ') : `${[...remove].join(', ')} already gone`}; ${outcome}`;

      if (dryRun) return { summary: `would change ${summary}`, previous: current, undo: null };
      if (removed.length === 0) return { summary, previous: current, undo: null };
      if (restored) await callS3(() => lifecycle.putLifecycle(bucket, restored));
      else await callS3(() => lifecycle.deleteLifecycle(bucket));
      const reapply = removed.map(paramsRuleOf);
      const undo = reapply.every((rule) => rule !== undefined)
        ? { action: 'storage.addLifecycleRules' as const, params: { rules: reapply } }
        : null;
      return { summary, previous: current, undo };
    },

    async 'storage.getLifecycle'({ target }) {
      const configuration = await callS3(() => lifecycle.getLifecycle(bucketOf('storage.getLifecycle', target)));
      const ruleIds = (configuration?.rules ?? []).map((rule) => rule.ID ?? '');
      return { ruleCount: ruleIds.length, ruleIds };
    },
  };
}
