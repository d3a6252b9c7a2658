// Actions and checks on Kubernetes, through the KubernetesAdapter (the official client by default).
// The API server has no idempotency keys, so each change first records
// `{idempotencyKey, previous}` in an annotation on the object it changes: a retry with the same key
// finds the record, takes `previous` from it (never the half-changed current state) and only
// completes what is missing, so `addReplicas` is never applied twice and undo restores the original.
import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import type { Target } from '../alerts/target';
import {
  kubernetesNameProblem,
  shownName,
  type BatchKind,
  type BatchObjectState,
  type KUBERNETES_ACTIONS,
  type KUBERNETES_CHECKS,
} from './kubernetes-steps';
import {
  KubernetesError,
  type Annotations,
  type BatchObject,
  type KubernetesAdapter,
  type ObjectRef,
} from './kubernetes-client';
import {
  parseParams,
  type ActionActivity,
  type ActionOutcome,
  type CheckActivity,
} from '../activities/action-contract';

/** The annotation each changed object carries: the last change's idempotency key and the state it replaced. */
export const CHANGE_ANNOTATION = 'finops-soar.io/change';

export type KubernetesActivities = Record<keyof typeof KUBERNETES_ACTIONS, ActionActivity> &
  Record<keyof typeof KUBERNETES_CHECKS, CheckActivity>;

/** Runs a Kubernetes call, turning its failure into one Temporal retries or not. */
export async function callKubernetes<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof KubernetesError) {
      throw error.retryable
        ? ApplicationFailure.retryable(error.message, 'KubernetesUnavailable')
        : ApplicationFailure.nonRetryable(error.message, 'KubernetesRejected', {
            status: error.status,
            reason: error.reason,
          });
    }
    throw error;
  }
}

/**
 * Refuses a namespace or object name Kubernetes would not accept (kubernetesNameProblem), naming where it came
 * from (`source`, e.g. "label namespace"), before it can reach a request path.
 */
export function checkKubernetesName(
  step: string,
  source: string,
  kind: 'namespace' | 'object',
  name: string,
  type = 'InvalidParams',
): string {
  const problem = kubernetesNameProblem(kind, name);
  if (problem)
    throw ApplicationFailure.nonRetryable(
      `${step}: ${source} ${shownName(name)} is ${problem}; refused before any request to the API server`,
      type,
    );
  return name;
}

export function deploymentOf(step: string, { kind, key, labels }: Target): ObjectRef {
  const { namespace, deployment } = labels;
  if (!namespace || !deployment) {
    throw ApplicationFailure.nonRetryable(
      `${step}: target ${kind} ${key} has no namespace and deployment labels; run this step on a deployment target`,
      'InvalidTarget',
    );
  }
  return {
    namespace: checkKubernetesName(step, "the alert's label namespace", 'namespace', namespace, 'InvalidTarget'),
    name: checkKubernetesName(step, "the alert's label deployment", 'object', deployment, 'InvalidTarget'),
  };
}

const changeAnnotation = (idempotencyKey: string, previous: unknown): Annotations => ({
  [CHANGE_ANNOTATION]: JSON.stringify({ idempotencyKey, previous }),
});

/** The `previous` an earlier attempt with this key recorded on the object, if any. */
function recordedPrevious<T>(
  annotations: Annotations,
  idempotencyKey: string,
  schema: z.ZodType<T>,
  object: string,
): T | undefined {
  let record: { idempotencyKey?: unknown; previous?: unknown };
  try {
    record = JSON.parse(annotations[CHANGE_ANNOTATION] ?? 'null') as typeof record;
  } catch {
    return undefined;
  }
  if (record?.idempotencyKey !== idempotencyKey) return undefined;
  const previous = schema.safeParse(record.previous);
  if (!previous.success) {
    throw ApplicationFailure.nonRetryable(
      `${object}: the ${CHANGE_ANNOTATION} annotation carries this step's key but an unreadable previous state (${annotations[CHANGE_ANNOTATION]}); someone edited it: check the object, remove the annotation and retry`,
      'KubernetesRejected',
    );
  }
  return previous.data;
}

const scalePrevious = z.object({ replicas: z.int().min(0) });
const hpaPrevious = z.object({ hpa: z.string(), minReplicas: z.int().optional(), maxReplicas: z.int().optional() });
const suspendPrevious = z.object({ suspend: z.boolean() });

const HPA_FIELDS = ['minReplicas', 'maxReplicas'] as const;
const KIND_NAMES: Record<BatchKind, string> = { cronjobs: 'cronjob', jobs: 'job' };
const describeBatch = ({ kind, namespace, name }: Pick<BatchObjectState, 'kind' | 'namespace' | 'name'>) =>
  `${KIND_NAMES[kind]} ${namespace}/${name}`;

export function createKubernetesActivities(kubernetes: KubernetesAdapter): KubernetesActivities {
  /**
   * Sets spec.suspend on one CronJob or Job, recording the value it replaces. Answers that value, or
   * null when the object already had `suspend` and no earlier attempt with this key changed it.
   */
  async function setSuspend(
    object: BatchObject,
    suspend: boolean,
    idempotencyKey: string,
    dryRun: boolean,
  ): Promise<BatchObjectState | null> {
    const recorded = dryRun
      ? undefined
      : recordedPrevious(object.annotations, idempotencyKey, suspendPrevious, describeBatch(object));
    if (!recorded && object.suspend === suspend) return null;
    const previous = recorded?.suspend ?? object.suspend;
    if (!dryRun && object.suspend !== suspend) {
      await callKubernetes(() =>
        kubernetes.patchBatch(object.kind, object, {
          suspend,
          annotations: changeAnnotation(idempotencyKey, { suspend: previous }),
        }),
      );
    }
    return { kind: object.kind, namespace: object.namespace, name: object.name, suspend: previous };
  }

  return {
    async 'kubernetes.scaleDeployment'({ target, params, idempotencyKey, dryRun }) {
      const step = 'kubernetes.scaleDeployment';
      const { replicas, addReplicas, maxReplicas } = parseParams(step, params);
      const deployment = deploymentOf(step, target);
      const object = `deployment ${deployment.namespace}/${deployment.name}`;
      const goal = (from: number) => {
        const asked = replicas ?? from + addReplicas!;
        const capped = maxReplicas === undefined ? asked : Math.min(asked, maxReplicas);
        // Adding replicas under a ceiling never scales in: at or above the ceiling, it stays.
        return { replicas: replicas === undefined ? Math.max(capped, from) : capped, capped: capped < asked };
      };
      const note = (capped: boolean) => (capped ? ` (ceiling maxReplicas ${maxReplicas})` : '');

      const state = await callKubernetes(() => kubernetes.readDeployment(deployment));
      const recorded = dryRun ? undefined : recordedPrevious(state.annotations, idempotencyKey, scalePrevious, object);
      const current = await callKubernetes(() => kubernetes.readScale(deployment));
      const previous = recorded?.replicas ?? current;
      const next = goal(previous);
      if (dryRun)
        return {
          summary: `would set ${object}: replicas ${current} → ${next.replicas}${note(next.capped)}`,
          previous: { replicas: current },
          undo: null,
        };
      if (!recorded && next.replicas === current)
        return {
          summary: `${object}: replicas already ${current}${note(next.capped)}`,
          previous: { replicas: current },
          undo: null,
        };

      // The record goes on the Deployment first: the scale subresource cannot carry annotations.
      if (!recorded)
        await callKubernetes(() =>
          kubernetes.annotateDeployment(deployment, changeAnnotation(idempotencyKey, { replicas: previous })),
        );
      if (current !== next.replicas) await callKubernetes(() => kubernetes.setScale(deployment, next.replicas));
      return {
        summary: `${object}: replicas ${previous} → ${next.replicas}${note(next.capped)}`,
        previous: { replicas: previous },
        undo: { action: 'kubernetes.scaleDeployment', params: { replicas: previous } },
        applied: { replicas: next.replicas },
      };
    },

    async 'kubernetes.setHpaBounds'({ target, params, idempotencyKey, dryRun }) {
      const step = 'kubernetes.setHpaBounds';
      const parsed = parseParams(step, params);
      const deployment = deploymentOf(step, target);
      const hpa = {
        namespace: deployment.namespace,
        name:
          parsed.hpa === undefined ? deployment.name : checkKubernetesName(step, 'params.hpa', 'object', parsed.hpa),
      };
      const object = `horizontalpodautoscaler ${hpa.namespace}/${hpa.name}`;
      const fields = HPA_FIELDS.filter((field) => parsed[field] !== undefined);

      const state = await callKubernetes(() => kubernetes.readHpa(hpa));
      if (!state) {
        throw ApplicationFailure.nonRetryable(
          `${step}: ${object} does not exist; set params.hpa to the HPA that scales deployment ${deployment.namespace}/${deployment.name}, or drop this step if it has none`,
          'KubernetesRejected',
          { status: 404, reason: 'NotFound' },
        );
      }
      const bounds = {
        minReplicas: parsed.minReplicas ?? state.minReplicas,
        maxReplicas: parsed.maxReplicas ?? state.maxReplicas,
      };
      if (bounds.minReplicas > bounds.maxReplicas) {
        const given = fields.map((field) => `${field} ${parsed[field]}`).join(' and ');
        throw ApplicationFailure.nonRetryable(
          `${step}: ${given} would leave ${object} with minReplicas ${bounds.minReplicas} above maxReplicas ${bounds.maxReplicas}; set both bounds so that minReplicas ≤ maxReplicas`,
          'InvalidParams',
        );
      }
      const recorded = dryRun ? undefined : recordedPrevious(state.annotations, idempotencyKey, hpaPrevious, object);
      const previous = recorded ?? {
        hpa: hpa.name,
        ...Object.fromEntries(fields.map((field) => [field, state[field]])),
      };
      const describe = (from: Partial<Record<(typeof HPA_FIELDS)[number], number>>) =>
        `${object}: ${fields.map((field) => `${field} ${from[field]} → ${bounds[field]}`).join(', ')}`;
      const settled = fields.every((field) => state[field] === bounds[field]);

      if (dryRun) return { summary: `would set ${describe(state)}`, previous, undo: null };
      if (!recorded && settled)
        return {
          summary: `${object}: ${fields.map((field) => `${field} already ${state[field]}`).join(', ')}`,
          previous,
          undo: null,
        };
      if (!settled) {
        const change = Object.fromEntries(fields.map((field) => [field, bounds[field]]));
        await callKubernetes(() =>
          kubernetes.patchHpa(hpa, { ...change, annotations: changeAnnotation(idempotencyKey, previous) }),
        );
      }
      return {
        summary: describe(previous),
        previous,
        undo: { action: 'kubernetes.setHpaBounds', params: previous },
        applied: { hpa: hpa.name, ...Object.fromEntries(fields.map((field) => [field, bounds[field]])) },
      };
    },

    async 'kubernetes.suspendBatch'({ target, params, idempotencyKey, dryRun }) {
      const step = 'kubernetes.suspendBatch';
      const { selector, namespace: namespaceParam, kinds, suspend } = parseParams(step, params);
      const namespace = namespaceParam ?? target.labels.namespace;
      if (!namespace) {
        throw ApplicationFailure.nonRetryable(
          `${step}: target ${target.key} has no namespace label; set params.namespace`,
          'InvalidParams',
        );
      }
      checkKubernetesName(
        step,
        namespaceParam === undefined ? "the alert's label namespace" : 'params.namespace',
        'namespace',
        namespace,
      );
      const verb = suspend ? 'suspend' : 'resume';
      const scope = `${kinds.join(' and ')} in ${namespace} matching "${selector}"`;

      const changed: BatchObjectState[] = [];
      let unchanged = 0;
      for (const kind of kinds) {
        for (const object of await callKubernetes(() => kubernetes.listBatch(kind, namespace, selector))) {
          const previous = await setSuspend(object, suspend, idempotencyKey, dryRun);
          if (previous) changed.push(previous);
          else unchanged += 1;
        }
      }
      const already = unchanged > 0 ? ` (${unchanged} already ${suspend ? 'suspended' : 'running'})` : '';
      if (changed.length === 0)
        return { summary: `${scope}: nothing to ${verb}${already}`, previous: changed, undo: null };
      const list = changed.map(describeBatch).join(', ');
      if (dryRun) return { summary: `would ${verb} ${scope}: ${list}${already}`, previous: changed, undo: null };
      return {
        summary: `${suspend ? 'suspended' : 'resumed'} ${scope}: ${list}${already}`,
        previous: changed,
        undo: { action: 'kubernetes.restoreBatch', params: { restore: changed } },
      };
    },

    async 'kubernetes.restoreBatch'({ params, idempotencyKey, dryRun }) {
      const step = 'kubernetes.restoreBatch';
      const { restore } = parseParams(step, params);
      const changed: BatchObjectState[] = [];
      const lines: string[] = [];
      const gone: string[] = [];
      for (const entry of restore) {
        checkKubernetesName(step, 'params.restore namespace', 'namespace', entry.namespace);
        checkKubernetesName(step, 'params.restore name', 'object', entry.name);
        const object = await callKubernetes(() => kubernetes.readBatch(entry.kind, entry));
        if (!object) {
          gone.push(describeBatch(entry));
          continue;
        }
        const previous = await setSuspend(object, entry.suspend, idempotencyKey, dryRun);
        if (!previous) continue;
        changed.push(previous);
        lines.push(`${describeBatch(entry)} suspend ${previous.suspend} → ${entry.suspend}`);
      }
      const skipped = gone.length > 0 ? `; deleted since, skipped: ${gone.join(', ')}` : '';
      const summary = `${dryRun ? 'would restore' : 'restored'} spec.suspend: ${lines.join(', ') || 'nothing to change'}${skipped}`;
      const outcome: ActionOutcome = { summary, previous: changed, undo: null };
      return dryRun || changed.length === 0
        ? outcome
        : { ...outcome, undo: { action: 'kubernetes.restoreBatch', params: { restore: changed } } };
    },

    async 'kubernetes.getDeployment'({ target, params }) {
      const step = 'kubernetes.getDeployment';
      const { hpa } = parseParams(step, params);
      const deployment = deploymentOf(step, target);
      const hpaName = hpa === undefined ? deployment.name : checkKubernetesName(step, 'params.hpa', 'object', hpa);
      const state = await callKubernetes(() => kubernetes.readDeployment(deployment));
      const bounds = await callKubernetes(() => kubernetes.readHpa({ namespace: deployment.namespace, name: hpaName }));
      return {
        replicas: state.replicas,
        readyReplicas: state.readyReplicas,
        gpusPerReplica: state.gpusPerReplica,
        hpaMinReplicas: bounds?.minReplicas ?? null,
        hpaMaxReplicas: bounds?.maxReplicas ?? null,
      };
    },
  };
}
