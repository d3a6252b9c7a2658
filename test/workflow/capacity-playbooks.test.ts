// The capacity playbooks, whole life on a real Temporal dev server against the Kubernetes API
// server (seeded with the simulated platform's deployments, HPAs and batch jobs) and the gateway
// simulator: scale-out, batch deferral, region shift, escalation to S1 with its war-room,
// priorities and approved circuit breaking, and every change rolled back.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PrometheusClient } from '../../prometheus/prometheus-client';
import { DEFAULT_CATALOG } from '../../simulator/platform/catalog';
import { seedCluster } from '../../simulator/simulated-platform';
import { alertNotificationSignal, decideUpdate, statusQuery } from '../../workflows/playbook-run/definitions';
import { TEST_FINOPS } from '../helpers/activities';
import { alert, resolved } from '../helpers/alerts';
import { recordHistoryIfAsked } from '../helpers/histories';
import { startPrometheus, type RunningPrometheus } from '../helpers/prometheus';
import { waitFor } from '../helpers/wait';
import { notification, startHarness, type Harness } from '../helpers/workflow-harness';

// Workers whose budget checks read spend from a real Prometheus: one under the test's $5M
// platform budget, one under a budget the scale-out alone would break.
const AMPLE = 'capacity-ample-budget';
const TIGHT = 'capacity-tight-budget';
let harness: Harness;
let prometheus: RunningPrometheus;
beforeAll(async () => {
  harness = await startHarness();
  seedCluster(harness.kube, DEFAULT_CATALOG);
  prometheus = await startPrometheus(
    '# TYPE inference_cost_usd_total counter\ninference_cost_usd_total{tenant="acme",route="chat"} 125000\n',
  );
  // increase() needs two scrapes; before them the budget check has no answer, and no scale-out.
  await waitFor('two scrapes of the spend', async () => {
    const samples = await new PrometheusClient({ baseUrl: prometheus.url, timeoutMs: 2_000 }).query(
      'increase(inference_cost_usd_total[1h])',
    );
    return samples.length > 0 || undefined;
  });
  await harness.startWorker(AMPLE, { prometheusUrl: prometheus.url });
  await harness.startWorker(TIGHT, {
    prometheusUrl: prometheus.url,
    finops: { ...TEST_FINOPS, budgets: { platform: { monthlyUsd: 50, selector: '' } } },
  });
});
afterAll(async () => {
  await harness?.close();
  await prometheus?.close();
});

const seed = (name: string) => readFileSync(join(__dirname, '..', '..', 'playbooks', `${name}.yaml`), 'utf8');
const saturated = (deployment: string, region: string, severity = 'S2') =>
  alert({
    alertname: 'GPUSaturatedQueueGrowing',
    severity,
    namespace: 'inference',
    deployment,
    region,
    model: 'llama-3.1-405b-instruct',
  });

/** What the capacity playbooks change, read back from the API servers. */
function clusterState(deployment: string) {
  const spec = (resource: 'deployments' | 'horizontalpodautoscalers', name: string) =>
    harness.kube.get(resource, 'inference', name)?.spec;
  const cronjobs = ['nightly-eval', 'embeddings-backfill', 'distill-finetune', 'billing-export'];
  return {
    replicas: spec('deployments', deployment)?.replicas,
    hpa: {
      min: spec('horizontalpodautoscalers', deployment)?.minReplicas,
      max: spec('horizontalpodautoscalers', deployment)?.maxReplicas,
    },
    suspended: cronjobs.filter((name) => harness.kube.get('cronjobs', 'inference', name)?.spec.suspend === true),
    chatWeights: harness.simulator.store.regionWeights('chat'),
  };
}

test('capacity-s2: replicas up under a raised ceiling, batch deferred, chat moved to the other region; all undone after the cooldown', async () => {
  const before = clusterState('llm-premium-us-east-1');
  expect(before).toEqual({
    replicas: 10,
    hpa: { min: 10, max: 20 },
    suspended: [],
    chatWeights: { 'us-east-1': 0.6, 'eu-west-1': 0.4 },
  });

  const firing = saturated('llm-premium-us-east-1', 'us-east-1');
  const handle = await harness.fire([seed('capacity-s2'), seed('capacity-s1')], firing, {
    taskQueue: AMPLE,
    cooldownOverrideMs: 300,
  });
  await waitFor('the mitigation', () => harness.stateOf(handle, 'mitigated'));
  expect(clusterState('llm-premium-us-east-1')).toEqual({
    replicas: 14,
    hpa: { min: 10, max: 24 },
    suspended: ['nightly-eval', 'embeddings-backfill', 'distill-finetune'],
    chatWeights: { 'us-east-1': 0.3, 'eu-west-1': 0.7 },
  });
  const status = await handle.query(statusQuery);
  expect(status.facts.current).toEqual({
    replicas: 10,
    readyReplicas: 10,
    gpusPerReplica: 8,
    hpaMinReplicas: 10,
    hpaMaxReplicas: 20,
  });
  // 4 replicas × 8 GPUs × $2.50 × 6 h against the $5M platform budget less 10%.
  expect(status.facts.budget).toMatchObject({ allowed: true, scaleOutUsd: 480, limitUsd: 4_500_000 });
  expect(status.applied.map(({ stepId, summary }) => [stepId, summary])).toEqual([
    ['raise-autoscaler-ceiling', expect.stringContaining('maxReplicas 20 → 24')],
    ['scale-out', expect.stringContaining('replicas 10 → 14')],
    [
      'defer-batch',
      'suspended cronjobs and jobs in inference matching "finops-soar.io/deferrable=true": cronjob inference/distill-finetune, cronjob inference/embeddings-backfill, cronjob inference/nightly-eval',
    ],
    ['shift-chat-to-eu', 'region weights of route chat: us-east-1 0.6 → 0.3, eu-west-1 0.4 → 0.7'],
  ]);
  expect(status.skipped).toEqual([
    { stepId: 'shift-chat-to-us', reason: expect.stringContaining('region') as unknown },
  ]);

  await handle.signal(alertNotificationSignal, notification(resolved(firing)));
  expect((await handle.result()).state).toBe('rolled-back');
  expect(clusterState('llm-premium-us-east-1')).toEqual(before);
  recordHistoryIfAsked(harness.env.address, handle, 'capacity-s2');
});

test('capacity-s2 escalates to capacity-s1: war-room, core/risk/fraud first, approved breakers with the fail mode the route needs; all undone', async () => {
  const firing = saturated('llm-premium-eu-west-1', 'eu-west-1');
  const handle = await harness.fire([seed('capacity-s2'), seed('capacity-s1')], firing, {
    taskQueue: AMPLE,
    cooldownOverrideMs: 300,
    escalationOverrideMs: 200,
  });
  await waitFor('the S1 approval', async () =>
    (await handle.query(statusQuery)).pendingApproval?.stepId === 'capacity-s1/approve-circuit-break'
      ? true
      : undefined,
  );
  expect(harness.notifierLog).toContainEqual(
    expect.objectContaining({ warRoom: { name: 'cap-llm-premium-eu-west-1', invite: ['sre', 'product'] } }),
  );
  const policy = (route: string) => harness.simulator.store.get({ route }).policy;
  expect(['core', 'risk', 'fraud'].map((route) => policy(route).priority)).toEqual([10, 10, 10]);
  expect(policy('code-assist').circuit?.state).toBe('closed');

  // Breaking circuits refuses traffic: in an S1 playbook that takes two different people.
  expect((await handle.query(statusQuery)).pendingApproval).toMatchObject({ approvalsNeeded: 2, approvedBy: [] });
  const first = await handle.executeUpdate(decideUpdate, {
    args: [{ stepId: 'capacity-s1/approve-circuit-break', approve: true, by: 'U0SRE' }],
  });
  expect(first).toMatchObject({ accepted: true, approvalsStillNeeded: 1 });
  expect(
    await handle.executeUpdate(decideUpdate, {
      args: [{ stepId: 'capacity-s1/approve-circuit-break', approve: true, by: 'U0SRE' }],
    }),
  ).toEqual({
    accepted: false,
    refusal: 'U0SRE already approved step capacity-s1/approve-circuit-break; it needs 2 different people',
  });
  expect(policy('code-assist').circuit?.state).toBe('closed');
  await handle.executeUpdate(decideUpdate, {
    args: [{ stepId: 'capacity-s1/approve-circuit-break', approve: true, by: 'U0PRODUCT' }],
  });
  await waitFor('the breakers', () => policy('summarize').circuit?.state === 'open' || undefined);
  // summarize is a sensitive route in the test guardrails: its breaker fails closed; code-assist's fails open.
  expect(policy('code-assist').circuit).toEqual({ state: 'open', failMode: 'open' });
  expect(policy('summarize').circuit).toEqual({ state: 'open', failMode: 'closed' });
  expect(clusterState('llm-premium-eu-west-1')).toMatchObject({
    replicas: 11,
    chatWeights: { 'us-east-1': 0.9, 'eu-west-1': 0.1 },
  });

  await handle.signal(alertNotificationSignal, notification(resolved(firing)));
  const summary = await handle.result();
  expect(summary.state).toBe('rolled-back');
  expect(summary.escalation).toMatchObject({ to: 'capacity-s1' });
  expect(summary.applied.filter(({ undoneAt }) => undoneAt === null)).toEqual([]);
  expect(['core', 'risk', 'fraud'].map((route) => policy(route).priority)).toEqual([9, 9, 10]);
  expect(policy('code-assist').circuit).toEqual({ state: 'closed', failMode: 'open' });
  expect(policy('summarize').circuit).toEqual({ state: 'closed', failMode: 'open' });
  expect(clusterState('llm-premium-eu-west-1')).toEqual({
    replicas: 7,
    hpa: { min: 7, max: 14 },
    suspended: [],
    chatWeights: { 'us-east-1': 0.6, 'eu-west-1': 0.4 },
  });
  recordHistoryIfAsked(harness.env.address, handle, 'capacity-s2-escalated');
});

test("two runs never stack changes on one object: the second run's region shift is refused while the first holds it, and each rollback restores only its own", async () => {
  const first = saturated('llm-premium-us-east-1', 'us-east-1');
  const second = saturated('llm-standard-us-east-1', 'us-east-1');
  const firstRun = await harness.fire(seed('capacity-s2'), first, { taskQueue: AMPLE, cooldownOverrideMs: 300 });
  await waitFor('the first mitigation', () => harness.stateOf(firstRun, 'mitigated'));
  const secondRun = await harness.fire(seed('capacity-s2'), second, { taskQueue: AMPLE, cooldownOverrideMs: 300 });
  await waitFor('the second mitigation', () => harness.stateOf(secondRun, 'mitigated'));

  const secondStatus = await secondRun.query(statusQuery);
  expect(secondStatus.skipped).toContainEqual({
    stepId: 'shift-chat-to-eu',
    reason: `refused: gateway/regions/chat is held by run ${firstRun.workflowId} until it ends`,
  });
  // Its own deployment is its own: scaled; the batch jobs the first run deferred are already deferred.
  expect(clusterState('llm-standard-us-east-1')).toMatchObject({
    replicas: 7,
    chatWeights: { 'us-east-1': 0.3, 'eu-west-1': 0.7 },
  });

  await firstRun.signal(alertNotificationSignal, notification(resolved(first)));
  expect((await firstRun.result()).state).toBe('rolled-back');
  expect(harness.simulator.store.regionWeights('chat')).toEqual({ 'us-east-1': 0.6, 'eu-west-1': 0.4 });
  await secondRun.signal(alertNotificationSignal, notification(resolved(second)));
  expect((await secondRun.result()).state).toBe('rolled-back');
  expect(clusterState('llm-standard-us-east-1')).toEqual({
    replicas: 3,
    hpa: { min: 3, max: 6 },
    suspended: [],
    chatWeights: { 'us-east-1': 0.6, 'eu-west-1': 0.4 },
  });
});

test('capacity-s2 over budget: no scale-out, the reason in the run; batch deferral and the region shift still happen', async () => {
  const firing = saturated('llm-standard-eu-west-1', 'eu-west-1');
  const handle = await harness.fire(seed('capacity-s2'), firing, { taskQueue: TIGHT, cooldownOverrideMs: 300 });
  await waitFor('the mitigation', () => harness.stateOf(handle, 'mitigated'));
  const status = await handle.query(statusQuery);
  expect(status.facts.budget).toMatchObject({ allowed: false, scaleOutUsd: 60, limitUsd: 45 });
  expect(status.skipped).toEqual(
    expect.arrayContaining([
      { stepId: 'raise-autoscaler-ceiling', reason: 'budget.allowed is false, not true' },
      { stepId: 'scale-out', reason: 'budget.allowed is false, not true' },
    ]),
  );
  expect(status.applied.map(({ stepId }) => stepId)).toEqual(['defer-batch', 'shift-chat-to-us']);
  expect(clusterState('llm-standard-eu-west-1')).toMatchObject({ replicas: 2, hpa: { min: 2, max: 4 } });

  await handle.signal(alertNotificationSignal, notification(resolved(firing)));
  expect((await handle.result()).state).toBe('rolled-back');
  expect(clusterState('llm-standard-eu-west-1').suspended).toEqual([]);
});

test('capacity-s1 rejected: the breakers stay closed; what was applied before the approval is still rolled back', async () => {
  const firing = saturated('llm-standard-us-east-1', 'us-east-1', 'S1');
  const handle = await harness.fire(seed('capacity-s1'), firing, { cooldownOverrideMs: 300 });
  await waitFor('the approval request', () => harness.stateOf(handle, 'awaiting-approval'));
  await handle.executeUpdate(decideUpdate, {
    args: [{ stepId: 'approve-circuit-break', approve: false, by: 'U0PRODUCT', reason: 'code-assist demo at 3pm' }],
  });
  await waitFor('the mitigation', () => harness.stateOf(handle, 'mitigated'));
  const status = await handle.query(statusQuery);
  expect(status.skipped.map(({ stepId }) => stepId)).toEqual([
    'approve-circuit-break',
    'break-code-assist',
    'break-summarize',
    'tell-everyone',
  ]);
  expect(harness.simulator.store.get({ route: 'code-assist' }).policy.circuit?.state).toBe('closed');

  await handle.signal(alertNotificationSignal, notification(resolved(firing)));
  expect((await handle.result()).state).toBe('rolled-back');
  expect(harness.simulator.store.get({ route: 'core' }).policy.priority).toBe(9);
  recordHistoryIfAsked(harness.env.address, handle, 'capacity-s1');
});
