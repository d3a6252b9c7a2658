// The Kubernetes actions and checks a playbook step may name (kubernetes/kubernetes-activities.ts implements
// them). Workflow code must not import this module (playbook/step-back.ts says why).
import { z } from 'zod';
import type { Target } from '../alerts/target';
import { STEP_BACK } from '../playbook/step-back';
import type { ActionSpec, StepSpec } from '../playbook/step-spec';

export const BATCH_KINDS = ['cronjobs', 'jobs'] as const;

// Kubernetes object names (https://kubernetes.io/docs/concepts/overview/working-with-objects/names/): a namespace
// is an RFC 1123 label, a Deployment, HorizontalPodAutoscaler, CronJob or Job name an RFC 1123 subdomain. These
// names come from an alert's labels (or params templated from them) and go into the request path, where "..",
// "a/b", "%2F" or "?" would name another object or another resource: such a name is refused before any request.
const NAME_RULES = {
  namespace: {
    max: 63,
    pattern: /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/,
    rule: 'an RFC 1123 label: at most 63 lowercase letters, digits and "-", starting and ending with a letter or digit',
  },
  object: {
    max: 253,
    pattern: /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/,
    rule: 'an RFC 1123 subdomain: at most 253 lowercase letters, digits, "-" and ".", each dot-separated part starting and ending with a letter or digit',
  },
} as const;

/** The rule `name` breaks as a namespace or an object name, or null when Kubernetes accepts it. */
export function kubernetesNameProblem(kind: keyof typeof NAME_RULES, name: string): string | null {
  const { max, pattern, rule } = NAME_RULES[kind];
  // The length first: it bounds the regex's work too.
  return name.length <= max && pattern.test(name) ? null : `not a valid ${kind} name: ${rule}`;
}

/** A name as an error message shows it: quoted, control characters visible, at most 80 characters. */
export const shownName = (name: string) => JSON.stringify(name.length > 80 ? `${name.slice(0, 80)}…` : name);
export type BatchKind = (typeof BATCH_KINDS)[number];

const hpaName = z
  .string()
  .min(1)
  .optional()
  .describe("the HorizontalPodAutoscaler's name, e.g. vllm-chat; defaults to the deployment's name");

const deploymentObject = ({ labels }: Target) => [
  `kubernetes/deployments/${labels.namespace ?? ''}/${labels.deployment ?? ''}`,
];

const batchObjectState = z
  .object({
    kind: z.enum(BATCH_KINDS).describe('cronjobs or jobs'),
    namespace: z.string().min(1).describe('the namespace of the CronJob or Job'),
    name: z.string().min(1).describe('the name of the CronJob or Job'),
    suspend: z.boolean().describe('the spec.suspend value to restore'),
  })
  .strict();

export const KUBERNETES_ACTIONS = {
  'kubernetes.scaleDeployment': {
    objects: deploymentObject,
    // Scaled to zero, the deployment serves nothing.
    destructive: ({ replicas }: { replicas?: number }) => replicas === 0,
    stepBack: STEP_BACK['kubernetes.scaleDeployment'],
    description:
      "Set the target deployment's replica count through the scale subresource; undone by restoring the previous count",
    targets: ['deployment'],
    params: z
      .object({
        replicas: z.int().min(0).optional().describe('the replica count to set, e.g. 6; give this or addReplicas'),
        addReplicas: z
          .int()
          .min(1)
          .optional()
          .describe('how many replicas to add to the current count, e.g. 2; give this or replicas'),
        maxReplicas: z.int().min(1).optional().describe('a ceiling the new count never exceeds, e.g. 12'),
      })
      .strict()
      .refine((params) => (params.replicas === undefined) !== (params.addReplicas === undefined), {
        message: 'give exactly one of replicas (the count to set) or addReplicas (how many to add)',
      }),
  },
  'kubernetes.setHpaBounds': {
    objects: ({ labels }: Target, { hpa }: { hpa?: string }) => [
      `kubernetes/hpa/${labels.namespace ?? ''}/${hpa ?? labels.deployment ?? ''}`,
    ],
    stepBack: STEP_BACK['kubernetes.setHpaBounds'],
    description:
      "Set the minReplicas/maxReplicas of the deployment's HorizontalPodAutoscaler (an HPA overrides a manual scale, so scale-out raises its floor); undone by restoring the previous bounds",
    targets: ['deployment'],
    params: z
      .object({
        hpa: hpaName,
        minReplicas: z.int().min(1).optional().describe('the HPA floor to set, e.g. 6'),
        maxReplicas: z.int().min(1).optional().describe('the HPA ceiling to set, e.g. 12'),
      })
      .strict()
      .refine((params) => params.minReplicas !== undefined || params.maxReplicas !== undefined, {
        message: 'give minReplicas, maxReplicas or both',
      })
      .refine(
        (params) =>
          params.minReplicas === undefined ||
          params.maxReplicas === undefined ||
          params.minReplicas <= params.maxReplicas,
        {
          message: 'minReplicas must not exceed maxReplicas',
          path: ['minReplicas'],
        },
      ),
  },
  'kubernetes.suspendBatch': {
    destructive: ({ suspend }: { suspend?: boolean }) => suspend !== false,
    objects: ({ labels }: Target, { namespace, selector }: { namespace?: string; selector: string }) => [
      `kubernetes/batch/${namespace ?? labels.namespace ?? ''}/${selector}`,
    ],
    description:
      'Suspend (defer) or resume the CronJobs and Jobs a label selector picks, through spec.suspend; undone by kubernetes.restoreBatch',
    targets: ['deployment'],
    params: z
      .object({
        selector: z
          .string()
          .min(1)
          .describe('a Kubernetes label selector, e.g. "workload=batch,priority in (low,best-effort)"'),
        namespace: z
          .string()
          .min(1)
          .optional()
          .describe("the namespace to search; defaults to the target's namespace label"),
        kinds: z
          .array(z.enum(BATCH_KINDS).describe('cronjobs or jobs'))
          .min(1)
          .default([...BATCH_KINDS])
          .describe('which kinds to change: ["cronjobs", "jobs"] by default'),
        suspend: z.boolean().default(true).describe('true defers the batch work, false resumes it'),
      })
      .strict(),
  },
  'kubernetes.restoreBatch': {
    objects: (_target: Target, { restore }: { restore: Array<{ kind: string; namespace: string; name: string }> }) =>
      restore.map(({ kind, namespace, name }) => `kubernetes/${kind}/${namespace}/${name}`),
    description:
      'Set spec.suspend on the listed CronJobs and Jobs back to the listed values (the undo of kubernetes.suspendBatch); objects deleted since are skipped',
    targets: ['deployment'],
    params: z
      .object({
        restore: z.array(batchObjectState).min(1).describe('the objects and the spec.suspend value each gets back'),
      })
      .strict(),
  },
} as const satisfies Record<string, ActionSpec>;

export const KUBERNETES_CHECKS = {
  'kubernetes.getDeployment': {
    description:
      "The target deployment's replicas, readyReplicas and gpusPerReplica, and its HPA's bounds (hpaMinReplicas, hpaMaxReplicas: null without an HPA); e.g. <step id>.readyReplicas",
    targets: ['deployment'],
    params: z.object({ hpa: hpaName }).strict(),
  },
} as const satisfies Record<string, StepSpec>;

export type BatchObjectState = z.output<typeof batchObjectState>;
