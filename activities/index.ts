// All activities, built from the clients they need so tests and workers inject their own.
import { createAlertActivities, type AlertActivities, type AlertmanagerDeps } from '../alerts/alert-activities';
import type { GatewayAdapter } from '../gateway/adapter';
import type { KubernetesAdapter } from '../kubernetes/kubernetes-client';
import type { EngineMetrics } from '../observability/engine-metrics';
import type { Notifier } from '../notify/notifier';
import type { OpaClientOptions } from '../policy/opa-client';
import type { ActionName, CheckName } from '../playbook/step-registry';
import type { Guardrails } from '../policy/guardrails';
import type { BucketLifecycle } from '../storage/lifecycle-client';
import type { ActionActivity, CheckActivity } from './action-contract';
import { createGatewayActivities } from '../gateway/gateway-activities';
import { createFinopsActivities, type FinopsActivities, type FinopsSettings } from '../finops/finops-activities';
import {
  createReviewActivities,
  unconfiguredReviewActivities,
  type ReviewActivities,
  type ReviewDeps,
} from '../reviews/review-activities';
import { createKubernetesActivities } from '../kubernetes/kubernetes-activities';
import { createLimitsActivities, type LimitsActivities, type LimitsDeps } from './limits-activities';
import { createShardedLimitsActivities, type ShardedLimitsActivities } from './sharded-limits';
import { DEFAULT_LIMIT_SHARDS } from '../workflows/limits/protocol';
import { createMetricsActivities, type MetricsActivities } from '../observability/metrics-activities';
import { createNotifyActivities, type NotifyActivities } from '../notify/notify-activities';
import { createPolicyActivities, type PolicyActivities } from '../policy/policy-activities';
import { createPrometheusActivities, type PrometheusQuery } from '../prometheus/prometheus-activities';
import { createStorageActivities } from '../storage/lifecycle-activities';
import { createCapaActivities, type CapaActivities } from '../capa/capa-activities';

export interface ActivityDeps {
  gateway: GatewayAdapter;
  kubernetes: KubernetesAdapter;
  prometheus: PrometheusQuery;
  finops: FinopsSettings;
  storage: BucketLifecycle;
  notifier: Notifier;
  /** A run's page in the Temporal UI. */
  runUrl: (workflowId: string) => string;
  guardrails: Guardrails;
  limits: LimitsDeps;
  metrics: EngineMetrics;
  /** The OPA server that decides whether a change may run; absent, the built-in rules decide. */
  opa?: OpaClientOptions | undefined;
  /** Where runs ask whether an alert that stopped repeating is still active; absent, none is configured. */
  alertmanager?: AlertmanagerDeps | undefined;
  /** What the scheduled reviews read and where they write (reviews/); absent, their activities fail saying so. */
  reviews?: ReviewDeps | undefined;
}

/** Every registered action and check has an activity of the same name (checked by the type). */
export type Activities = Record<ActionName, ActionActivity> &
  Record<CheckName, CheckActivity> &
  NotifyActivities &
  LimitsActivities &
  ShardedLimitsActivities &
  MetricsActivities &
  PolicyActivities &
  FinopsActivities &
  AlertActivities &
  CapaActivities;

export function createActivities({
  gateway,
  kubernetes,
  prometheus,
  finops,
  storage,
  notifier,
  runUrl,
  guardrails,
  limits,
  metrics,
  opa,
  alertmanager = { urls: [], timeoutMs: 10_000 },
  reviews,
}: ActivityDeps): Activities & ReviewActivities {
  return {
    ...createGatewayActivities(gateway, guardrails),
    ...createKubernetesActivities(kubernetes),
    ...(reviews ? createReviewActivities(reviews) : unconfiguredReviewActivities()),
    ...createPrometheusActivities(prometheus),
    ...createFinopsActivities({ prometheus, kubernetes, settings: finops, metrics }),
    ...createStorageActivities(storage),
    ...createNotifyActivities(notifier, runUrl),
    ...createLimitsActivities(limits),
    ...createShardedLimitsActivities({ ...limits, shards: limits.shards ?? DEFAULT_LIMIT_SHARDS, guardrails }),
    ...createMetricsActivities(metrics),
    ...createPolicyActivities({ opa, guardrails, prometheus, gateway, budgets: finops.budgets }),
    ...createAlertActivities(alertmanager),
    ...createCapaActivities(notifier, runUrl),
  };
}
