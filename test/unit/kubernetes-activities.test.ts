// The Kubernetes activities in an activity context (MockActivityEnvironment), on the real adapter
// against the local API server: dry runs, parameter validation, ceilings, and the outcome shapes.
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import type { ActionOutcome, ActionRequest } from '../../activities/action-contract';
import { createKubernetesActivities, type KubernetesActivities } from '../../kubernetes/kubernetes-activities';
import type { Target } from '../../alerts/target';
import { createKubernetesAdapter } from '../../kubernetes/kubernetes-client';
import { KubeApiServer } from '../../simulator/kubernetes-api';

let server: KubeApiServer;
let activities: KubernetesActivities;
// Failures are what half these tests expect: keep the SDK's "Activity failed" warnings out of the output.
const env = new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR') });

beforeAll(async () => {
  server = await KubeApiServer.start();
  activities = createKubernetesActivities(
    await createKubernetesAdapter({ kubeconfig: await server.writeKubeconfig(), requestTimeoutMs: 10_000 }),
  );
});
afterAll(() => server.close());
beforeEach(() => {
  server.reset();
  server.addDeployment({ namespace: 'llm', name: 'vllm-chat', replicas: 4 });
  server.addHpa({ namespace: 'llm', name: 'vllm-chat', minReplicas: 2, maxReplicas: 10 });
  server.addCronJob({ namespace: 'llm', name: 'nightly-eval', labels: { workload: 'batch' } });
});

const target: Target = {
  kind: 'deployment',
  key: 'namespace=llm,deployment=vllm-chat',
  labels: { namespace: 'llm', deployment: 'vllm-chat' },
};
type ActionName =
  'kubernetes.scaleDeployment' | 'kubernetes.setHpaBounds' | 'kubernetes.suspendBatch' | 'kubernetes.restoreBatch';

const run = (action: ActionName, params: unknown, overrides: Partial<ActionRequest> = {}): Promise<ActionOutcome> => {
  const request: ActionRequest = {
    target,
    params,
    idempotencyKey: `wf/${action}/apply`,
    purpose: 'apply',
    dryRun: false,
    ...overrides,
  };
  return env.run(activities[action], request);
};

async function failure(promise: Promise<unknown>): Promise<ApplicationFailure> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(ApplicationFailure);
    return error as ApplicationFailure;
  }
  throw new Error('expected an ApplicationFailure');
}

describe('dry run', () => {
  test('says what would change and changes nothing', async () => {
    const scale = await run('kubernetes.scaleDeployment', { addReplicas: 3 }, { dryRun: true });
    const hpa = await run('kubernetes.setHpaBounds', { minReplicas: 6 }, { dryRun: true });
    const batch = await run('kubernetes.suspendBatch', { selector: 'workload=batch' }, { dryRun: true });
    expect(scale).toEqual({
      summary: 'would set deployment llm/vllm-chat: replicas 4 → 7',
      previous: { replicas: 4 },
      undo: null,
    });
    expect(hpa).toEqual({
      summary: 'would set horizontalpodautoscaler llm/vllm-chat: minReplicas 2 → 6',
      previous: { hpa: 'vllm-chat', minReplicas: 2 },
      undo: null,
    });
    expect(batch).toEqual({
      summary: 'would suspend cronjobs and jobs in llm matching "workload=batch": cronjob llm/nightly-eval',
      previous: [{ kind: 'cronjobs', namespace: 'llm', name: 'nightly-eval', suspend: false }],
      undo: null,
    });
    expect(server.mutations).toBe(0);
    expect(server.patches).toEqual([]);
  });
});

describe('invalid params', () => {
  test.each([
    [
      'kubernetes.scaleDeployment',
      { replicas: 6, addReplicas: 2 },
      '(top level): give exactly one of replicas (the count to set) or addReplicas (how many to add)',
    ],
    [
      'kubernetes.scaleDeployment',
      {},
      '(top level): give exactly one of replicas (the count to set) or addReplicas (how many to add)',
    ],
    [
      'kubernetes.scaleDeployment',
      { replicas: -1 },
      'replicas: Too small: expected number to be >=0. Expected: the replica count to set, e.g. 6; give this or addReplicas',
    ],
    [
      'kubernetes.scaleDeployment',
      { addReplicas: 1.5 },
      'addReplicas: Invalid input: expected int, received number. Expected: how many replicas to add to the current count, e.g. 2; give this or replicas',
    ],
    ['kubernetes.setHpaBounds', { hpa: 'x' }, '(top level): give minReplicas, maxReplicas or both'],
    [
      'kubernetes.setHpaBounds',
      { minReplicas: 8, maxReplicas: 4 },
      'minReplicas: minReplicas must not exceed maxReplicas. Expected: the HPA floor to set, e.g. 6',
    ],
    [
      'kubernetes.suspendBatch',
      { selector: 'a=b', kinds: ['pods'] },
      'kinds[0]: Invalid option. Expected: cronjobs or jobs',
    ],
    [
      'kubernetes.suspendBatch',
      { kinds: ['jobs'] },
      'selector: Invalid input: expected string, received undefined. Expected: a Kubernetes label selector, e.g. "workload=batch,priority in (low,best-effort)"',
    ],
    [
      'kubernetes.restoreBatch',
      { restore: [{ kind: 'jobs', namespace: 'llm', name: 'x' }] },
      'restore[0].suspend: Invalid input: expected boolean, received undefined. Expected: the spec.suspend value to restore',
    ],
  ] as const)('%s %j is a non-retryable InvalidParams failure', async (action, params, issue) => {
    const error = await failure(run(action, params));
    expect(error).toMatchObject({ type: 'InvalidParams', nonRetryable: true });
    expect(error.message).toBe(`${action}: invalid params: ${issue}`);
    expect(server.requests).toEqual([]);
  });

  test('unknown fields are refused', async () => {
    const error = await failure(run('kubernetes.scaleDeployment', { replicas: 3, replica: 4 }));
    expect(error.message).toBe('kubernetes.scaleDeployment: invalid params: (top level): Unrecognized key: "replica"');
  });

  test('a target that is not a deployment is refused before any request', async () => {
    const route: Target = { kind: 'route', key: 'route=chat', labels: { route: 'chat' } };
    const error = await failure(run('kubernetes.scaleDeployment', { replicas: 3 }, { target: route }));
    expect(error).toMatchObject({ type: 'InvalidTarget', nonRetryable: true });
    expect(error.message).toBe(
      'kubernetes.scaleDeployment: target route route=chat has no namespace and deployment labels; run this step on a deployment target',
    );
    expect(server.requests).toEqual([]);
  });
});

describe('outcomes', () => {
  test('adding replicas stops at the ceiling, and never scales in', async () => {
    expect(await run('kubernetes.scaleDeployment', { addReplicas: 10, maxReplicas: 6 })).toEqual({
      summary: 'deployment llm/vllm-chat: replicas 4 → 6 (ceiling maxReplicas 6)',
      previous: { replicas: 4 },
      undo: { action: 'kubernetes.scaleDeployment', params: { replicas: 4 } },
      // What a staged rollback steps back from.
      applied: { replicas: 6 },
    });
    const mutations = server.mutations;
    expect(
      await run(
        'kubernetes.scaleDeployment',
        { addReplicas: 2, maxReplicas: 3 },
        { idempotencyKey: 'wf/second/apply' },
      ),
    ).toEqual({
      summary: 'deployment llm/vllm-chat: replicas already 6 (ceiling maxReplicas 3)',
      previous: { replicas: 6 },
      undo: null,
    });
    expect(server.mutations).toBe(mutations);
  });

  test('a step that finds the target state already in place changes nothing and has no undo', async () => {
    expect(await run('kubernetes.scaleDeployment', { replicas: 4 })).toEqual({
      summary: 'deployment llm/vllm-chat: replicas already 4',
      previous: { replicas: 4 },
      undo: null,
    });
    expect(await run('kubernetes.setHpaBounds', { maxReplicas: 10 })).toEqual({
      summary: 'horizontalpodautoscaler llm/vllm-chat: maxReplicas already 10',
      previous: { hpa: 'vllm-chat', maxReplicas: 10 },
      undo: null,
    });
    expect(
      await run('kubernetes.suspendBatch', { selector: 'workload=batch', suspend: false, kinds: ['cronjobs'] }),
    ).toEqual({
      summary: 'cronjobs in llm matching "workload=batch": nothing to resume (1 already running)',
      previous: [],
      undo: null,
    });
    expect(server.mutations).toBe(0);
  });

  test('each undo is a registered action whose params pass its own schema, and undoing an undo re-applies', async () => {
    const suspended = await run('kubernetes.suspendBatch', { selector: 'workload=batch' });
    expect(suspended.undo).toEqual({
      action: 'kubernetes.restoreBatch',
      params: { restore: [{ kind: 'cronjobs', namespace: 'llm', name: 'nightly-eval', suspend: false }] },
    });
    const restored = await run('kubernetes.restoreBatch', suspended.undo!.params, {
      purpose: 'undo',
      idempotencyKey: 'wf/defer/undo',
    });
    expect(restored).toEqual({
      summary: 'restored spec.suspend: cronjob llm/nightly-eval suspend true → false',
      previous: [{ kind: 'cronjobs', namespace: 'llm', name: 'nightly-eval', suspend: true }],
      undo: {
        action: 'kubernetes.restoreBatch',
        params: { restore: [{ kind: 'cronjobs', namespace: 'llm', name: 'nightly-eval', suspend: true }] },
      },
    });
    expect(server.get('cronjobs', 'llm', 'nightly-eval')?.spec.suspend).toBe(false);
  });

  test('checks read facts without changing anything', async () => {
    expect(await env.run(activities['kubernetes.getDeployment'], { target, params: { hpa: 'vllm-chat' } })).toEqual({
      replicas: 4,
      readyReplicas: 4,
      gpusPerReplica: 0,
      hpaMinReplicas: 2,
      hpaMaxReplicas: 10,
    });
    const error = await failure(env.run(activities['kubernetes.getDeployment'], { target, params: { hpa: '' } }));
    expect(error).toMatchObject({ type: 'InvalidParams', nonRetryable: true });
    expect(server.mutations).toBe(0);
  });
});
