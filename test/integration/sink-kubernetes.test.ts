// Kubernetes names from alert labels, through the activities and the real @kubernetes/client-node against the
// wire-level API server (simulator/kubernetes-api.ts). What it proves:
// - a namespace label that is an RFC 1123 label and a deployment label that is an RFC 1123 subdomain reach exactly
//   /apis/apps/v1/namespaces/<namespace>/deployments/<deployment> (and its HPA), nothing else;
// - any other value (path metacharacters, "..", "%2F", "?", control characters, unicode, too long) is refused with
//   a reason naming the label and the rule, and the server receives no request at all (1,000 cases);
// - names from params (hpa, namespace) and the adapter itself refuse the same way (regressions).
import type { ApplicationFailure } from '@temporalio/common';
import fc from 'fast-check';
import type { Target } from '../../alerts/target';
import { createKubernetesActivities, type KubernetesActivities } from '../../kubernetes/kubernetes-activities';
import { createKubernetesAdapter, KubernetesError, type KubernetesAdapter } from '../../kubernetes/kubernetes-client';
import { KubeApiServer } from '../../simulator/kubernetes-api';

let server: KubeApiServer;
let adapter: KubernetesAdapter;
let activities: KubernetesActivities;

beforeAll(async () => {
  server = await KubeApiServer.start();
  adapter = await createKubernetesAdapter({ kubeconfig: await server.writeKubeconfig(), requestTimeoutMs: 10_000 });
  activities = createKubernetesActivities(adapter);
});
afterAll(() => server.close());

// The rules as Kubernetes states them, written here independently of kubernetes-steps.ts.
const isNamespaceName = (name: string) => name.length <= 63 && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(name);
const isObjectName = (name: string) =>
  name.length <= 253 && name.split('.').every((part) => /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(part));

const labelPart = fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/);
const validNamespace = labelPart;
const validObjectName = fc
  .array(labelPart, { minLength: 1, maxLength: 5 })
  .map((parts) => parts.join('.'))
  .filter((name) => name.length <= 253);
const PATH_TRICKS = [
  '..',
  '.',
  '../kube-system',
  'llm/../kube-system',
  'a/b',
  '/',
  '%2F',
  'a%2Fb',
  '%2e%2e',
  '?watch=true',
  'a?b=c',
  '#frag',
  'llm\u0000',
  'llm\n',
  ' llm',
  'LLM',
  '-llm',
  'llm-',
  'llm.',
  'a..b',
  'ä',
  'x'.repeat(64),
  'x'.repeat(254),
];
const hostile = fc
  .oneof(
    fc.constantFrom(...PATH_TRICKS),
    fc.string({ unit: 'binary', maxLength: 300 }),
    fc.string({ unit: fc.constantFrom(...'./%?#-az09\\:@ A\u0000\n'.split('')), maxLength: 80 }),
    fc
      .tuple(validObjectName, fc.constantFrom('/', '..', '%2F', '?', '#', '\\', 'A', '_', ' '), validObjectName)
      .map((parts) => parts.join('')),
    fc.string({ unit: 'grapheme', minLength: 254, maxLength: 2_000 }),
    // An empty label is a missing one: no target has it.
  )
  .filter((value) => value !== '');

const deploymentTarget = (namespace: string, deployment: string): Target => ({
  kind: 'deployment',
  key: `namespace=${namespace},deployment=${deployment}`,
  labels: { namespace, deployment },
});

const failureOf = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (error: unknown) => error as ApplicationFailure,
  );

test('a deployment target reaches exactly its own path when its labels are RFC 1123 names, and nothing otherwise', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.oneof({ arbitrary: validNamespace, weight: 1 }, { arbitrary: hostile, weight: 1 }),
      fc.oneof({ arbitrary: validObjectName, weight: 1 }, { arbitrary: hostile, weight: 1 }),
      async (namespace, deployment) => {
        server.reset();
        // The simulator holds the deployment where the names are valid, so the whole check runs.
        const valid = isNamespaceName(namespace) && isObjectName(deployment);
        if (valid) server.addDeployment({ namespace, name: deployment, replicas: 2, readyReplicas: 2 });
        const failure = await failureOf(
          activities['kubernetes.getDeployment']({ target: deploymentTarget(namespace, deployment), params: {} }),
        );
        const paths = server.requests.map(({ method, path }) => `${method} ${path}`);
        if (valid) {
          expect(failure).toBeUndefined();
          expect(paths).toEqual([
            `GET /apis/apps/v1/namespaces/${namespace}/deployments/${deployment}`,
            `GET /apis/autoscaling/v2/namespaces/${namespace}/horizontalpodautoscalers/${deployment}`,
          ]);
        } else {
          expect(paths).toEqual([]);
          expect(failure?.type).toBe('InvalidTarget');
          expect(failure?.nonRetryable).toBe(true);
          const label = isNamespaceName(namespace) ? 'deployment' : 'namespace';
          expect(failure?.message).toContain(`the alert's label ${label} `);
          expect(failure?.message).toMatch(/RFC 1123 (label|subdomain)/);
        }
      },
    ),
    { numRuns: 1_000 },
  );
});

describe('regressions', () => {
  beforeEach(() => {
    server.reset();
    server.addDeployment({ namespace: 'llm', name: 'vllm-chat', replicas: 4, readyReplicas: 4 });
  });

  test.each([
    ['..', 'vllm-chat', 'namespace'],
    ['llm', '..', 'deployment'],
    ['llm', '../../../api/v1/secrets', 'deployment'],
    ['llm', 'vllm-chat%2F..%2Fother', 'deployment'],
    ['llm', 'vllm-chat?dryRun=All', 'deployment'],
    ['kube-system/../llm', 'vllm-chat', 'namespace'],
  ])('namespace %j, deployment %j: refused naming the %s label, no request', async (namespace, deployment, label) => {
    const failure = await failureOf(
      activities['kubernetes.scaleDeployment']({
        target: deploymentTarget(namespace, deployment),
        params: { replicas: 0 },
        idempotencyKey: 'run-1/scale/apply',
        purpose: 'apply',
        dryRun: false,
      }),
    );
    expect(failure?.message).toContain(
      `the alert's label ${label} ${JSON.stringify(label === 'namespace' ? namespace : deployment)}`,
    );
    expect(server.requests).toEqual([]);
  });

  test('an HPA name or a batch namespace from params is checked the same way', async () => {
    const hpa = await failureOf(
      activities['kubernetes.setHpaBounds']({
        target: deploymentTarget('llm', 'vllm-chat'),
        params: { hpa: '../evil', minReplicas: 2 },
        idempotencyKey: 'run-1/hpa/apply',
        purpose: 'apply',
        dryRun: false,
      }),
    );
    expect(hpa?.message).toMatch(/params\.hpa "\.\.\/evil" is not a valid object name: an RFC 1123 subdomain/);
    const batch = await failureOf(
      activities['kubernetes.suspendBatch']({
        target: deploymentTarget('llm', 'vllm-chat'),
        params: { selector: 'workload=batch', namespace: 'llm/../kube-system' },
        idempotencyKey: 'run-1/batch/apply',
        purpose: 'apply',
        dryRun: false,
      }),
    );
    expect(batch?.message).toMatch(/params\.namespace "llm\/\.\.\/kube-system" is not a valid namespace name/);
    expect(server.requests).toEqual([]);
  });

  test('the adapter refuses an invalid name itself, not retryably, and sends nothing', async () => {
    const error = await adapter
      .readDeployment({ namespace: '..', name: 'vllm-chat' })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(KubernetesError);
    expect((error as KubernetesError).retryable).toBe(false);
    expect((error as KubernetesError).message).toMatch(
      /namespace "\.\." is not a valid namespace name.*nothing was sent/,
    );
    expect(server.requests).toEqual([]);
  });

  test('the longest valid names still pass: a 63-character namespace, a 253-character deployment', async () => {
    const namespace = `a${'b'.repeat(61)}c`;
    const deployment = Array.from({ length: 4 }, () => 'd'.repeat(63))
      .join('.')
      .slice(0, 253);
    server.addDeployment({ namespace, name: deployment, replicas: 1, readyReplicas: 1 });
    await activities['kubernetes.getDeployment']({ target: deploymentTarget(namespace, deployment), params: {} });
    expect(server.requests[0]!.path).toBe(`/apis/apps/v1/namespaces/${namespace}/deployments/${deployment}`);
  });
});
