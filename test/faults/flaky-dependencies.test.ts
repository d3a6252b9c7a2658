// Fault matrix 4 (issue 13): the gateway, Kubernetes, S3 and Slack answering 5xx, 429 with Retry-After, too late
// (a timeout) or slowly on 30 % of calls, drawn from a seed (FINOPS_SOAR_FAULT_SEED; the test names print it, so a
// failure is reproducible): every run still completes, each change once, Retry-After waited out. And a permanent
// refusal fails its step with a reason a person can act on, after which what was applied is rolled back.
import { WorkflowFailedError } from '@temporalio/client';
import { RateFaults, type ServerFaults } from '../../simulator/faults';
import { hashSeed } from '../../simulator/platform/random';
import { waitFor } from '../helpers/wait';
import {
  bucketAlert,
  bucketRunId,
  countGateway,
  deploymentAlert,
  deploymentRunId,
  expectOneRunRolledBack,
  GATEWAY_EFFECTS,
  gatewayAlert,
  gatewayEffects,
  gatewayRunId,
  kubeEffects,
  resolved,
  ROUTE,
} from './checks';
import { duplicates, FaultReport } from './report';
import { SLACK_CHANNEL, startFaultStack, type FaultStack } from './stack';

const SEED = Number(process.env.FINOPS_SOAR_FAULT_SEED ?? 1_302_026);
const RATE = 0.3;
/** Longer than the activity retry's first interval (1 s), so only a client that honours it waits this long. */
const RETRY_AFTER_S = 2;
let stack: FaultStack;
const report = new FaultReport(__filename);
const rates: Record<string, RateFaults> = {};

const TENANTS = ['flaky-a', 'flaky-b', 'flaky-c'];
const DEPLOYMENTS = ['flaky-gpu-a', 'flaky-gpu-b'];
const BUCKETS = ['fault-logs-a', 'fault-logs-b', 'fault-logs-c', 'fault-logs-d'];

beforeAll(async () => {
  stack = await startFaultStack();
  for (const name of [...DEPLOYMENTS, 'refused-gpu']) {
    stack.kube.addDeployment({ namespace: 'inference', name, replicas: 2 });
    stack.kube.addHpa({ namespace: 'inference', name, minReplicas: 2, maxReplicas: 8 });
  }
  const servers: Record<string, ServerFaults> = {
    gateway: stack.gateway.faults,
    kubernetes: stack.kube.rateFaults,
    s3: stack.s3.faults,
    slack: stack.slack.rateFaults,
  };
  for (const [name, faults] of Object.entries(servers)) {
    rates[name] = faults.rate = new RateFaults({
      seed: hashSeed(SEED, name),
      rate: RATE,
      // Slack's client waits out a Retry-After only within its request timeout (1 s here); longer ones are retried
      // by the activity.
      retryAfterSeconds: name === 'slack' ? 1 : RETRY_AFTER_S,
      // Past the clients' 1 s deadline, and within it.
      timeoutMs: 1_500,
      slowMs: 300,
    });
  }
});

afterAll(async () => {
  await stack?.close();
  report.write();
});

const injected = () => Object.values(rates).reduce((sum, rate) => sum + rate.injected, 0);

/** Every retry after a 429 came at least Retry-After later (the clock's millisecond granularity aside). */
function retryAfterHonoured(rate: RateFaults, seconds: number): string[] {
  return rate.log.flatMap((event, index) => {
    if (event.fault !== 'throttle') return [];
    const next = rate.log.slice(index + 1).find((later) => later.key === event.key);
    return next && next.atMs - event.atMs < seconds * 1_000 - 5
      ? [`${event.key} retried ${next.atMs - event.atMs} ms after a 429 with Retry-After: ${seconds}`]
      : [];
  });
}

test(`30 % of calls failing transiently (seed ${SEED}): every run completes, each change once, Retry-After honoured`, async () => {
  const before = injected();
  const firing = [
    ...TENANTS.map((t) => gatewayAlert(t)),
    ...DEPLOYMENTS.map(deploymentAlert),
    ...BUCKETS.map(bucketAlert),
  ];
  const ids = [
    ...TENANTS.map((t) => gatewayRunId(t)),
    ...DEPLOYMENTS.map(deploymentRunId),
    ...BUCKETS.map(bucketRunId),
  ];
  expect(await stack.post(firing)).toBe(200);
  for (const id of ids) await stack.waitForState(id, 'mitigated', 120_000);
  expect(await stack.post(firing.map((alert) => resolved(alert)))).toBe(200);
  for (const id of ids) await expectOneRunRolledBack(stack, id);

  for (const tenant of TENANTS) expect(gatewayEffects(stack, tenant)).toEqual(GATEWAY_EFFECTS);
  for (const name of DEPLOYMENTS) {
    expect(kubeEffects(stack, name)).toEqual([
      { path: `${name}/scale`, spec: { replicas: 4 } },
      { path: `horizontalpodautoscalers/${name}`, spec: { minReplicas: 4 } },
      { path: `horizontalpodautoscalers/${name}`, spec: { minReplicas: 2 } },
      { path: `${name}/scale`, spec: { replicas: 2 } },
    ]);
  }
  for (const bucket of BUCKETS) {
    expect(stack.s3.applied.filter((a) => a.bucket === bucket).map((a) => a.method)).toEqual(['PUT', 'DELETE']);
  }
  // Each run's notification reached Slack once.
  const posted = stack.slack.messages(SLACK_CHANNEL).map((message) => message.text ?? '');
  for (const tenant of TENANTS) expect(posted.filter((text) => text.includes(`${ROUTE}/${tenant}:`))).toHaveLength(1);
  for (const name of DEPLOYMENTS) expect(posted.filter((text) => text.includes(`inference/${name}:`))).toHaveLength(1);
  for (const bucket of BUCKETS) expect(posted.filter((text) => text.includes(`bucket ${bucket}:`))).toHaveLength(1);

  // Faults were drawn (which servers got how many is in the report: a seed may spare a server that got few calls).
  expect(injected() - before).toBeGreaterThan(0);
  expect([
    ...retryAfterHonoured(rates.gateway!, RETRY_AFTER_S),
    ...retryAfterHonoured(rates.kubernetes!, RETRY_AFTER_S),
  ]).toEqual([]);

  const gateway = TENANTS.map((t) => countGateway(stack, t));
  const kube = DEPLOYMENTS.flatMap((name) => kubeEffects(stack, name));
  const s3 = stack.s3.applied.filter((a) => BUCKETS.includes(a.bucket));
  report.record({
    name: `5xx, 429, timeouts and slow answers on ${RATE * 100} % of calls (${Object.entries(rates)
      .map(([server, rate]) => `${server} ${rate.injected}/${rate.counts.requests}`)
      .join(', ')})`,
    seed: SEED,
    faultsInjected: injected() - before,
    alertsSent: ids.length,
    alertsLost: 0,
    effects: gateway.reduce((sum, c) => sum + c.effects, 0) + kube.length + s3.length,
    effectsDuplicated:
      gateway.reduce((sum, c) => sum + c.effectsDuplicated, 0) +
      duplicates(kube, (e) => JSON.stringify(e)) +
      duplicates(s3, (a) => `${a.method} ${a.bucket}`),
  });
});

test(`a permanent refusal (seed ${SEED}) fails the step with a reason a person can act on, and rolls back what was applied`, async () => {
  const before = injected();
  const tenant = 'refused-cache';
  const policy = `/v1/routes/${ROUTE}/tenants/${tenant}/policy`;
  // The gateway refuses the run's second change (422); Kubernetes refuses the HPA change (403, RBAC).
  stack.gateway.faults.refuseNext({
    when: (method, path, body) =>
      method === 'PATCH' && path === policy && (body as { cacheMode?: string } | undefined)?.cacheMode === 'aggressive',
    status: 422,
    message: `cacheMode aggressive is not available on route ${ROUTE} for tenant ${tenant}: its plan has no cache`,
  });
  stack.kube.failNext(1, {
    status: 403,
    when: (request) => request.method === 'PATCH' && request.path.endsWith('/horizontalpodautoscalers/refused-gpu'),
  });
  expect(await stack.post([gatewayAlert(tenant), deploymentAlert('refused-gpu')])).toBe(200);

  const failure = async (id: string) => {
    const error = await stack.result(id).then(
      (state) => new Error(`the run ended ${state}`),
      (error: unknown) => error,
    );
    expect(error).toBeInstanceOf(WorkflowFailedError);
    expect(await stack.executions(id)).toBe(1);
    const status = await stack.status(id);
    expect(status.state).toBe('failed');
    expect(status.applied.every((change) => change.undoneAt !== null && change.undoError === null)).toBe(true);
    return status.rollbackReason;
  };
  expect(await failure(gatewayRunId(tenant))).toMatch(
    /^step cache-harder \(gateway\.setRoutePolicy\) failed: .*422.*cacheMode aggressive is not available on route chat for tenant refused-cache: its plan has no cache/,
  );
  expect(gatewayEffects(stack, tenant)).toEqual([{ maxInputTokens: 8192 }, { maxInputTokens: null }]);
  expect(await failure(deploymentRunId('refused-gpu'))).toMatch(
    /^step raise-floor \(kubernetes\.setHpaBounds\) failed: .*403.*grant the worker's identity RBAC permission to patch horizontalpodautoscalers\.autoscaling in namespace inference/,
  );
  expect(kubeEffects(stack, 'refused-gpu')).toEqual([
    { path: 'refused-gpu/scale', spec: { replicas: 4 } },
    { path: 'refused-gpu/scale', spec: { replicas: 2 } },
  ]);
  await waitFor('nothing left changed', () => stack.gateway.store.get({ route: ROUTE, tenant }).policy);
  expect(stack.gateway.store.get({ route: ROUTE, tenant }).policy).toEqual({});
  report.record({
    name: 'A permanent refusal (gateway 422, Kubernetes 403) amid 30 % transient faults',
    seed: SEED,
    faultsInjected: 2 + injected() - before,
    alertsSent: 2,
    alertsLost: 0,
    effects: gatewayEffects(stack, tenant).length + kubeEffects(stack, 'refused-gpu').length,
    effectsDuplicated: countGateway(stack, tenant).effectsDuplicated,
  });
});
