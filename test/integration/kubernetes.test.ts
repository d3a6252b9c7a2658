// The official Kubernetes client (through the adapter and the activities) against a local server
// speaking the real REST paths: the exact requests, undo, idempotency across a crash, and errors
// classified as retryable or not.
import { ApplicationFailure } from '@temporalio/common';
import type { ActionOutcome, ActionRequest } from '../../activities/action-contract';
import {
  CHANGE_ANNOTATION,
  createKubernetesActivities,
  type KubernetesActivities,
} from '../../kubernetes/kubernetes-activities';
import type { Target } from '../../alerts/target';
import { createKubernetesAdapter, KubernetesError, type KubernetesAdapter } from '../../kubernetes/kubernetes-client';
import { KUBE_TOKEN, KubeApiServer, type RecordedRequest } from '../../simulator/kubernetes-api';

let server: KubeApiServer;
let adapter: KubernetesAdapter;
let activities: KubernetesActivities;

beforeAll(async () => {
  server = await KubeApiServer.start();
  adapter = await createKubernetesAdapter({ kubeconfig: await server.writeKubeconfig(), requestTimeoutMs: 10_000 });
  activities = createKubernetesActivities(adapter);
});
afterAll(() => server.close());
beforeEach(() => {
  server.reset();
  server.addDeployment({ namespace: 'llm', name: 'vllm-chat', replicas: 4, readyReplicas: 3, gpusPerReplica: 2 });
});

const target: Target = {
  kind: 'deployment',
  key: 'namespace=llm,deployment=vllm-chat',
  labels: { namespace: 'llm', deployment: 'vllm-chat' },
};
const DEPLOYMENT = '/apis/apps/v1/namespaces/llm/deployments/vllm-chat';
const HPA = '/apis/autoscaling/v2/namespaces/llm/horizontalpodautoscalers/vllm-chat';
const MERGE_PATCH = 'application/merge-patch+json';

type ActionName =
  'kubernetes.scaleDeployment' | 'kubernetes.setHpaBounds' | 'kubernetes.suspendBatch' | 'kubernetes.restoreBatch';

const run = (
  action: ActionName,
  params: unknown,
  idempotencyKey: string,
  request: Partial<ActionRequest> = {},
): Promise<ActionOutcome> =>
  activities[action]({ target, params, idempotencyKey, purpose: 'apply', dryRun: false, ...request });

/** Runs the outcome's undo the way the workflow does. */
const undo = (outcome: ActionOutcome, idempotencyKey: string) =>
  run(outcome.undo!.action as ActionName, outcome.undo!.params, idempotencyKey, { purpose: 'undo' });

const wire = (requests: RecordedRequest[]) =>
  requests.map(({ method, path, query, contentType, body }) => ({ method, path, query, contentType, body }));
const get = (path: string, query: Record<string, string> = {}) => ({
  method: 'GET',
  path,
  query,
  contentType: undefined,
  body: undefined,
});
const patch = (path: string, body: unknown) => ({ method: 'PATCH', path, query: {}, contentType: MERGE_PATCH, body });
const record = (idempotencyKey: string, previous: unknown) => ({
  [CHANGE_ANNOTATION]: JSON.stringify({ idempotencyKey, previous }),
});

async function failure<T extends Error>(promise: Promise<unknown>): Promise<T> {
  try {
    await promise;
  } catch (error) {
    return error as T;
  }
  throw new Error('expected a failure');
}

describe('kubernetes.scaleDeployment', () => {
  test('reads the deployment and its scale, records the change, then merge-patches the scale subresource', async () => {
    const outcome = await run('kubernetes.scaleDeployment', { addReplicas: 2 }, 'run-1/scale/apply');
    expect(outcome).toEqual({
      summary: 'deployment llm/vllm-chat: replicas 4 → 6',
      previous: { replicas: 4 },
      applied: { replicas: 6 },
      undo: { action: 'kubernetes.scaleDeployment', params: { replicas: 4 } },
    });
    expect(wire(server.requests)).toEqual([
      get(DEPLOYMENT),
      get(`${DEPLOYMENT}/scale`),
      patch(DEPLOYMENT, { metadata: { annotations: record('run-1/scale/apply', { replicas: 4 }) } }),
      patch(`${DEPLOYMENT}/scale`, { spec: { replicas: 6 } }),
    ]);
    expect(server.requests.every((request) => request.authorization === `Bearer ${KUBE_TOKEN}`)).toBe(true);
    expect(server.get('deployments', 'llm', 'vllm-chat')?.spec.replicas).toBe(6);
  });

  test('a second apply with the same key sends no mutation and answers the same previous state', async () => {
    const first = await run('kubernetes.scaleDeployment', { addReplicas: 2 }, 'run-1/scale/apply');
    const mutations = server.mutations;
    const again = await run('kubernetes.scaleDeployment', { addReplicas: 2 }, 'run-1/scale/apply');
    expect(again).toEqual(first);
    expect(server.mutations).toBe(mutations);
    expect(server.get('deployments', 'llm', 'vllm-chat')?.spec.replicas).toBe(6);
  });

  test('a retry after a crash between the record and the scale completes the change once, from the true original', async () => {
    server.failNext(1, { when: (request) => request.method === 'PATCH' && request.path.endsWith('/scale') });
    const crash = await failure<ApplicationFailure>(
      run('kubernetes.scaleDeployment', { addReplicas: 2 }, 'run-1/scale/apply'),
    );
    expect(crash).toBeInstanceOf(ApplicationFailure);
    expect(crash).toMatchObject({ type: 'KubernetesUnavailable', nonRetryable: false });
    expect(server.get('deployments', 'llm', 'vllm-chat')?.spec.replicas).toBe(4);

    server.requests.length = 0;
    const retry = await run('kubernetes.scaleDeployment', { addReplicas: 2 }, 'run-1/scale/apply');
    expect(retry.previous).toEqual({ replicas: 4 });
    expect(retry.summary).toBe('deployment llm/vllm-chat: replicas 4 → 6');
    expect(wire(server.patches)).toEqual([patch(`${DEPLOYMENT}/scale`, { spec: { replicas: 6 } })]);
    expect(server.get('deployments', 'llm', 'vllm-chat')?.spec.replicas).toBe(6);
  });

  test('undo restores the previous replica count', async () => {
    const outcome = await run('kubernetes.scaleDeployment', { replicas: 10 }, 'run-1/scale/apply');
    const undone = await undo(outcome, 'run-1/scale/undo');
    expect(undone.summary).toBe('deployment llm/vllm-chat: replicas 10 → 4');
    expect(server.get('deployments', 'llm', 'vllm-chat')?.spec.replicas).toBe(4);
    expect(server.patches.at(-1)).toMatchObject(patch(`${DEPLOYMENT}/scale`, { spec: { replicas: 4 } }));
  });

  test('a missing deployment is a non-retryable failure that names it and the fix', async () => {
    const missing = { ...target, labels: { namespace: 'llm', deployment: 'vllm-gone' } };
    const error = await failure<ApplicationFailure>(
      activities['kubernetes.scaleDeployment']({
        target: missing,
        params: { replicas: 2 },
        idempotencyKey: 'k',
        purpose: 'apply',
        dryRun: false,
      }),
    );
    expect(error).toMatchObject({ type: 'KubernetesRejected', nonRetryable: true });
    expect(error.message).toBe(
      'kubernetes get deployment llm/vllm-gone answered 404 NotFound: deployments.apps "vllm-gone" not found. Fix: check that deployment llm/vllm-gone exists: the alert\'s labels or the step\'s params name it',
    );
    expect(server.mutations).toBe(0);
  });
});

describe('kubernetes.setHpaBounds', () => {
  beforeEach(() => server.addHpa({ namespace: 'llm', name: 'vllm-chat', minReplicas: 2, maxReplicas: 10 }));

  test('one merge patch sets the bounds and records the change; undo restores them', async () => {
    const outcome = await run('kubernetes.setHpaBounds', { minReplicas: 6, maxReplicas: 12 }, 'run-1/floor/apply');
    const previous = { hpa: 'vllm-chat', minReplicas: 2, maxReplicas: 10 };
    expect(outcome).toEqual({
      summary: 'horizontalpodautoscaler llm/vllm-chat: minReplicas 2 → 6, maxReplicas 10 → 12',
      previous,
      applied: { hpa: 'vllm-chat', minReplicas: 6, maxReplicas: 12 },
      undo: { action: 'kubernetes.setHpaBounds', params: previous },
    });
    expect(wire(server.requests)).toEqual([
      get(HPA),
      patch(HPA, {
        metadata: { annotations: record('run-1/floor/apply', previous) },
        spec: { minReplicas: 6, maxReplicas: 12 },
      }),
    ]);

    const mutations = server.mutations;
    expect(await run('kubernetes.setHpaBounds', { minReplicas: 6, maxReplicas: 12 }, 'run-1/floor/apply')).toEqual(
      outcome,
    );
    expect(server.mutations).toBe(mutations);

    await undo(outcome, 'run-1/floor/undo');
    expect(server.get('horizontalpodautoscalers', 'llm', 'vllm-chat')?.spec).toMatchObject({
      minReplicas: 2,
      maxReplicas: 10,
    });
  });

  test('a floor above the current ceiling is refused before any change', async () => {
    const error = await failure<ApplicationFailure>(
      run('kubernetes.setHpaBounds', { minReplicas: 11 }, 'run-1/floor/apply'),
    );
    expect(error).toMatchObject({ type: 'InvalidParams', nonRetryable: true });
    expect(error.message).toBe(
      'kubernetes.setHpaBounds: minReplicas 11 would leave horizontalpodautoscaler llm/vllm-chat with minReplicas 11 above maxReplicas 10; set both bounds so that minReplicas ≤ maxReplicas',
    );
    expect(server.mutations).toBe(0);
  });

  test('the API server refuses invalid bounds with a non-retryable 422', async () => {
    const error = await failure<KubernetesError>(
      adapter.patchHpa({ namespace: 'llm', name: 'vllm-chat' }, { minReplicas: 5, maxReplicas: 3 }),
    );
    expect(error).toBeInstanceOf(KubernetesError);
    expect(error).toMatchObject({ retryable: false, status: 422, reason: 'Invalid' });
    expect(error.message).toMatch(
      /^kubernetes patch horizontalpodautoscaler llm\/vllm-chat answered 422 Invalid: .*maxReplicas.*Fix: the API server found the change invalid/,
    );
  });

  test('a missing HPA says which one and what to set', async () => {
    const error = await failure<ApplicationFailure>(
      run('kubernetes.setHpaBounds', { hpa: 'chat-hpa', minReplicas: 3 }, 'k'),
    );
    expect(error).toMatchObject({ type: 'KubernetesRejected', nonRetryable: true });
    expect(error.message).toMatch(/horizontalpodautoscaler llm\/chat-hpa does not exist; set params.hpa/);
  });
});

describe('kubernetes.suspendBatch', () => {
  beforeEach(() => {
    server.addCronJob({
      namespace: 'batch',
      name: 'nightly-embeddings',
      labels: { workload: 'batch' },
      suspend: false,
    });
    server.addCronJob({ namespace: 'batch', name: 'already-off', labels: { workload: 'batch' }, suspend: true });
    server.addCronJob({ namespace: 'batch', name: 'web-warmup', labels: { workload: 'web' } });
    server.addJob({ namespace: 'batch', name: 'reindex', labels: { workload: 'batch' } });
  });
  const params = { selector: 'workload=batch', namespace: 'batch' };
  const CRONJOBS = '/apis/batch/v1/namespaces/batch/cronjobs';
  const JOBS = '/apis/batch/v1/namespaces/batch/jobs';
  const changed = [
    { kind: 'cronjobs', namespace: 'batch', name: 'nightly-embeddings', suspend: false },
    { kind: 'jobs', namespace: 'batch', name: 'reindex', suspend: false },
  ];

  test('lists by label selector and suspends only the objects that run', async () => {
    const outcome = await run('kubernetes.suspendBatch', params, 'run-1/defer/apply');
    expect(outcome).toEqual({
      summary:
        'suspended cronjobs and jobs in batch matching "workload=batch": cronjob batch/nightly-embeddings, job batch/reindex (1 already suspended)',
      previous: changed,
      undo: { action: 'kubernetes.restoreBatch', params: { restore: changed } },
    });
    const recorded = {
      metadata: { annotations: record('run-1/defer/apply', { suspend: false }) },
      spec: { suspend: true },
    };
    expect(wire(server.requests)).toEqual([
      get(CRONJOBS, { labelSelector: 'workload=batch' }),
      patch(`${CRONJOBS}/nightly-embeddings`, recorded),
      get(JOBS, { labelSelector: 'workload=batch' }),
      patch(`${JOBS}/reindex`, recorded),
    ]);
    expect(server.get('cronjobs', 'batch', 'web-warmup')?.spec.suspend).toBeUndefined();
  });

  test('a second apply with the same key changes nothing; undo restores exactly the objects it changed', async () => {
    const outcome = await run('kubernetes.suspendBatch', params, 'run-1/defer/apply');
    const mutations = server.mutations;
    expect(await run('kubernetes.suspendBatch', params, 'run-1/defer/apply')).toEqual(outcome);
    expect(server.mutations).toBe(mutations);

    const undone = await undo(outcome, 'run-1/defer/undo');
    expect(undone.summary).toBe(
      'restored spec.suspend: cronjob batch/nightly-embeddings suspend true → false, job batch/reindex suspend true → false',
    );
    expect(server.get('cronjobs', 'batch', 'nightly-embeddings')?.spec.suspend).toBe(false);
    expect(server.get('jobs', 'batch', 'reindex')?.spec.suspend).toBe(false);
    expect(server.get('cronjobs', 'batch', 'already-off')?.spec.suspend).toBe(true);
  });

  test('a restore skips objects deleted since', async () => {
    const outcome = await run(
      'kubernetes.restoreBatch',
      { restore: [...changed, { kind: 'jobs', namespace: 'batch', name: 'finished-and-gone', suspend: false }] },
      'k',
    );
    expect(outcome.summary).toBe(
      'restored spec.suspend: nothing to change; deleted since, skipped: job batch/finished-and-gone',
    );
    expect(outcome.undo).toBeNull();
  });
});

describe('kubernetes.getDeployment', () => {
  test('replicas, ready replicas and the HPA bounds', async () => {
    server.addHpa({ namespace: 'llm', name: 'vllm-chat', minReplicas: 2, maxReplicas: 10 });
    expect(await activities['kubernetes.getDeployment']({ target, params: {} })).toEqual({
      replicas: 4,
      readyReplicas: 3,
      gpusPerReplica: 2,
      hpaMinReplicas: 2,
      hpaMaxReplicas: 10,
    });
  });

  test('null bounds without an HPA', async () => {
    expect(await activities['kubernetes.getDeployment']({ target, params: {} })).toEqual({
      replicas: 4,
      readyReplicas: 3,
      gpusPerReplica: 2,
      hpaMinReplicas: null,
      hpaMaxReplicas: null,
    });
  });
});

describe('the adapter', () => {
  test('a 500 is retryable', async () => {
    server.failNext(1);
    const error = await failure<KubernetesError>(adapter.readScale({ namespace: 'llm', name: 'vllm-chat' }));
    expect(error).toMatchObject({ retryable: true, status: 500, reason: 'InternalError' });
    expect(error.message).toMatch(
      /^kubernetes get deployment llm\/vllm-chat \(scale\) answered 500 InternalError: .*Fix: the API server failed; the activity retries$/,
    );
    expect(await adapter.readScale({ namespace: 'llm', name: 'vllm-chat' })).toBe(4);
  });

  test('a 429 is retryable, a 403 is not and names the permission to grant', async () => {
    server.failNext(1, { status: 429 });
    expect(await failure(adapter.readDeployment({ namespace: 'llm', name: 'vllm-chat' }))).toMatchObject({
      retryable: true,
      status: 429,
    });
    server.failNext(1, { status: 403 });
    const error = await failure<KubernetesError>(adapter.setScale({ namespace: 'llm', name: 'vllm-chat' }, 5));
    expect(error).toMatchObject({ retryable: false, status: 403 });
    expect(error.message).toMatch(
      /Fix: grant the worker's identity RBAC permission to patch deployments.apps\/scale in namespace llm$/,
    );
  });

  test('no answer within the request timeout is retryable', async () => {
    const impatient = await createKubernetesAdapter({
      kubeconfig: await server.writeKubeconfig(),
      requestTimeoutMs: 200,
    });
    server.failNext(1, { status: 'hang' });
    const error = await failure<KubernetesError>(impatient.readScale({ namespace: 'llm', name: 'vllm-chat' }));
    expect(error).toMatchObject({ retryable: true, status: undefined });
    expect(error.message).toBe(
      `kubernetes get deployment llm/vllm-chat (scale): no answer from ${server.url} within 200 ms; the activity retries`,
    );
  });

  test('a refused token is a non-retryable 401', async () => {
    const stale = await createKubernetesAdapter({
      kubeconfig: await server.writeKubeconfig({ token: 'expired' }),
      requestTimeoutMs: 10_000,
    });
    const error = await failure<KubernetesError>(stale.readDeployment({ namespace: 'llm', name: 'vllm-chat' }));
    expect(error).toMatchObject({ retryable: false, status: 401 });
    expect(error.message).toMatch(/renew the token/);
    expect(server.requests.at(-1)?.authorization).toBe('Bearer expired');
  });

  test('an unreachable API server is retryable', async () => {
    const elsewhere = await createKubernetesAdapter({
      kubeconfig: await server.writeKubeconfig({ currentContext: 'elsewhere' }),
      requestTimeoutMs: 10_000,
    });
    const error = await failure<KubernetesError>(elsewhere.readDeployment({ namespace: 'llm', name: 'vllm-chat' }));
    expect(error).toMatchObject({ retryable: true, status: undefined });
    expect(error.message).toMatch(/cannot reach the API server at http:\/\/127\.0\.0\.1:1 \(ECONNREFUSED\)/);
  });

  test('the context option picks a kubeconfig context; an unknown one is named with the choices', async () => {
    const kubeconfig = await server.writeKubeconfig({ currentContext: 'elsewhere' });
    const chosen = await createKubernetesAdapter({ kubeconfig, context: 'kube-api-server', requestTimeoutMs: 10_000 });
    expect((await chosen.readDeployment({ namespace: 'llm', name: 'vllm-chat' })).replicas).toBe(4);
    await expect(createKubernetesAdapter({ kubeconfig, context: 'prod', requestTimeoutMs: 10_000 })).rejects.toThrow(
      `kubernetes: the kubeconfig ${kubeconfig} has no context prod; it has: kube-api-server, elsewhere`,
    );
  });

  test('a server URL and token work without a kubeconfig (how the stack reaches the simulator); not both at once', async () => {
    const direct = await createKubernetesAdapter({
      server: { url: server.url, token: KUBE_TOKEN },
      requestTimeoutMs: 10_000,
    });
    expect((await direct.readDeployment({ namespace: 'llm', name: 'vllm-chat' })).replicas).toBe(4);
    expect(server.requests.at(-1)?.authorization).toBe(`Bearer ${KUBE_TOKEN}`);
    await expect(
      createKubernetesAdapter({
        kubeconfig: await server.writeKubeconfig(),
        server: { url: server.url, token: KUBE_TOKEN },
        requestTimeoutMs: 10_000,
      }),
    ).rejects.toThrow('kubernetes: set either a kubeconfig file or a server URL and token, not both');
  });

  test('without a kubeconfig outside a cluster, the error says to set one', async () => {
    expect(process.env.KUBERNETES_SERVICE_HOST).toBeUndefined();
    await expect(createKubernetesAdapter({ requestTimeoutMs: 10_000 })).rejects.toThrow(
      /does not run in a cluster \(KUBERNETES_SERVICE_HOST is unset\); set the kubeconfig path$/,
    );
  });
});

describe('the test API server', () => {
  test('answers a JSON Patch content type with 415 and a missing object with a NotFound Status, like the real server', async () => {
    const headers = { Authorization: `Bearer ${KUBE_TOKEN}`, 'Content-Type': 'application/json-patch+json' };
    const refused = await fetch(`${server.url}${DEPLOYMENT}/scale`, {
      method: 'PATCH',
      headers,
      body: JSON.stringify({ spec: { replicas: 1 } }),
    });
    expect(refused.status).toBe(415);
    expect(await refused.json()).toMatchObject({
      kind: 'Status',
      apiVersion: 'v1',
      status: 'Failure',
      reason: 'UnsupportedMediaType',
      code: 415,
    });

    const missing = await fetch(`${server.url}/apis/batch/v1/namespaces/batch/jobs/nope`, { headers });
    expect(await missing.json()).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'jobs.batch "nope" not found',
      reason: 'NotFound',
      details: { name: 'nope', group: 'batch', kind: 'jobs' },
      code: 404,
    });
    expect(server.mutations).toBe(0);
  });

  test('set-based label selectors', async () => {
    server.addCronJob({ namespace: 'batch', name: 'low', labels: { workload: 'batch', priority: 'low' } });
    server.addCronJob({ namespace: 'batch', name: 'high', labels: { workload: 'batch', priority: 'high' } });
    server.addCronJob({ namespace: 'batch', name: 'unlabelled', labels: { workload: 'batch' } });
    const names = async (selector: string) =>
      (await adapter.listBatch('cronjobs', 'batch', selector)).map((object) => object.name);
    expect(await names('workload=batch,priority in (low,best-effort)')).toEqual(['low']);
    expect(await names('workload=batch,priority notin (high)')).toEqual(['low', 'unlabelled']);
    expect(await names('!priority')).toEqual(['unlabelled']);
    expect(await names('priority,priority!=low')).toEqual(['high']);
  });
});
