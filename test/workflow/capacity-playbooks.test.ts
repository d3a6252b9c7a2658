// The capacity playbooks, whole life on a real Temporal dev server against the Kubernetes API
// server (seeded with the simulated platform's deployments, HPAs and batch jobs) and the gateway
// simulator: scale-out, batch deferral, region shift, escalation to S1 with its war-room,
// priorities and approved circuit breaking, and every change rolled back.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PrometheusClient } from '../../prometheus/prometheus-client';
import { DEFAULT_CATALOG } from '../../simulator/platform/catalog';
import { seedCluster } from '../../simulator/simulated-platform';
import {
  alertNotificationSignal,
  decideUpdate,
  statusQuery,
  type RunStatus,
} from '../../workflows/playbook-run/definitions';
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
// Limits (and so flap memory) of its own: what other tests rolled back on the same target is not remembered there.
const FLAPS = 'capacity-flaps';
let harness: Harness;
let prometheus: RunningPrometheus;
beforeAll(async () => {
  harness = await startHarness();
  seedCluster(harness.kube, DEFAULT_CATALOG);
  prometheus = await startPrometheus(exposition());
  // increase() needs two scrapes; before them the budget check has no answer, and no scale-out.
  await waitFor('two scrapes of the spend', async () => {
    const samples = await new PrometheusClient({ baseUrl: prometheus.url, timeoutMs: 2_000 }).query(
      'increase(inference_cost_usd_total[1h])',
    );
    return samples.length > 0 || undefined;
  });
  await harness.startWorker(AMPLE, { prometheusUrl: prometheus.url });
  await harness.startWorker(FLAPS, { prometheusUrl: prometheus.url });
  await harness.startWorker(TIGHT, {
    prometheusUrl: prometheus.url,
    finops: { ...TEST_FINOPS, budgets: { platform: { monthlyUsd: 50, selector: '' } } },
  });
});
afterAll(async () => {
  await harness?.close();
  await prometheus?.close();
});

// What the exporter serves: the spend the budget checks read, and the GPU utilisation capacity-s2's staged rollback
// watches as its guard (every deployment at 0.5 unless a test sets it).
const SPEND = '# TYPE inference_cost_usd_total counter\ninference_cost_usd_total{tenant="acme",route="chat"} 125000\n';
const utilization = new Map<string, number>();
const DEPLOYMENTS = [
  'llm-premium-us-east-1',
  'llm-premium-eu-west-1',
  'llm-standard-us-east-1',
  'llm-standard-eu-west-1',
];
function exposition() {
  const gpus = DEPLOYMENTS.map(
    (name) => `gpu_utilization{namespace="inference",deployment="${name}"} ${utilization.get(name) ?? 0.5}`,
  );
  return `${SPEND}# TYPE gpu_utilization gauge\n${gpus.join('\n')}\n`;
}
/** Sets a deployment's GPU utilisation and waits until Prometheus answers it. */
async function setUtilization(deployment: string, value: number) {
  utilization.set(deployment, value);
  prometheus.metrics.text = exposition();
  const client = new PrometheusClient({ baseUrl: prometheus.url, timeoutMs: 2_000 });
  await waitFor(`Prometheus to read ${deployment} at ${value}`, async () => {
    const [sample] = await client.query(`gpu_utilization{deployment="${deployment}"}`);
    return sample?.value === value || undefined;
  });
}
// capacity-s2's staged rollback in a test's time: windows of 300 ms, the guard every 100 ms, holds from 1 s.
const STAGED = { stabiliseMs: 300, holdMs: 1_000, maxHoldMs: 4_000, guardEveryMs: 100 };
// Its verify step (are the GPUs under 90 % after the replicas?) in a test's time: 500 ms, every 100 ms.
const VERIFY = { withinMs: 500, everyMs: 100 };

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

  // The replicas do not cool the GPUs (the exporter keeps them at 97 %): the verify step sees it, and traffic moves.
  await setUtilization('llm-premium-us-east-1', 0.97);
  const firing = saturated('llm-premium-us-east-1', 'us-east-1');
  const handle = await harness.fire([seed('capacity-s2'), seed('capacity-s1')], firing, {
    taskQueue: AMPLE,
    cooldownOverrideMs: 300,
    rollbackOverride: STAGED,
    verifyOverride: VERIFY,
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
  expect(status.verifications).toEqual([
    {
      stepId: 'gpus-below-90',
      moved: false,
      value: 0.97,
      at: expect.any(String) as unknown,
      reason: 'not below 0.9 within 0.5s: value is still 0.97',
    },
  ]);
  // What the run costs: 10 replicas × 8 GPUs × $2.50 before the first change, 14 after the scale-out.
  expect(status.savings).toMatchObject({
    query: 'finops.gpuCostRate usdPerHour',
    baseline: { usdPerHour: 200 },
    latest: { usdPerHour: 280 },
    savedUsdPerHour: -80,
  });

  await setUtilization('llm-premium-us-east-1', 0.5);
  await handle.signal(alertNotificationSignal, notification(resolved(firing)));
  const ended = await handle.result();
  expect(ended.state).toBe('rolled-back');
  expect(clusterState('llm-premium-us-east-1')).toEqual(before);
  // Sampled around each stage: $280/h in force, $240/h half way, $200/h home; the money added is in the total.
  expect(ended.savings).toMatchObject({
    inForce: { usdPerHour: 280 },
    latest: { usdPerHour: 200 },
    savedUsdPerHour: 0,
  });
  expect(ended.savings!.savedUsd).toBeLessThanOrEqual(0);
  const report = harness.notifierLog.find(
    (line) =>
      (line.notification as { message?: string } | undefined)?.message?.startsWith(
        'capacity-s2 on namespace=inference,deployment=llm-premium-us-east-1 rolled back',
      ) ?? false,
  );
  expect((report?.notification as { to: string[]; message: string }).to).toEqual(['finops']);
  expect((report?.notification as { message: string }).message).toMatch(
    /rolled back after [\d.]+ h of changes: cost rate \$280\/h with every change in force against \$200\/h before the first change: costing \$80\/h, \$[\d.]+ more spent in all\.$/,
  );
  // In stages, each watched against the GPUs (at 0.5 here, so none stops): traffic home half way and all the way,
  // then the replicas and the ceiling, then the batch jobs.
  const rollback = (await handle.query(statusQuery)).rollback!;
  expect(stagesUndone(rollback)).toEqual([
    [1, 'shift-chat-to-eu back by 0.5: region weights of route chat: us-east-1 0.3 → 0.45, eu-west-1 0.7 → 0.55'],
    [2, 'shift-chat-to-eu back all the way: region weights of route chat: us-east-1 0.45 → 0.6, eu-west-1 0.55 → 0.4'],
    [3, 'scale-out back by 0.5: deployment inference/llm-premium-us-east-1: replicas 14 → 12'],
    [
      3,
      'raise-autoscaler-ceiling back by 0.5: horizontalpodautoscaler inference/llm-premium-us-east-1: maxReplicas 24 → 22',
    ],
    [4, 'scale-out back all the way: deployment inference/llm-premium-us-east-1: replicas 12 → 10'],
    [
      4,
      'raise-autoscaler-ceiling back all the way: horizontalpodautoscaler inference/llm-premium-us-east-1: maxReplicas 22 → 20',
    ],
    [5, expect.stringMatching(/^defer-batch back all the way: /)],
  ]);
  expect(rollback.events.filter(({ event }) => event === 'held through the window')).toHaveLength(5);
  expect(rollback).toMatchObject({ stage: 5, holds: 0, attempt: 0 });
  // capacity-s2.json is the history of the runs before staged rollback, capacity-s2-staged.json before the GPU cost
  // and the verify step: kept, they replay as they were.
  recordHistoryIfAsked(harness.env.address, handle, 'capacity-s2-costed');
});

/** The stages' undos, in order, as the run's audit says them. */
const stagesUndone = ({ events }: NonNullable<RunStatus['rollback']>) =>
  events.filter(({ event }) => / back (all the way|by [\d.]+): /.test(event)).map(({ stage, event }) => [stage, event]);

test('capacity-s2: GPUs hot again during the rollback put the stage back and hold; a re-fire keeps the changes; the rollback then completes; the next alert on the target is a flap and holds longer', async () => {
  const deployment = 'llm-premium-eu-west-1';
  const before = clusterState(deployment);
  const firing = saturated(deployment, 'eu-west-1');
  const fire = () =>
    harness.fire([seed('capacity-s2'), seed('capacity-s1')], firing, {
      taskQueue: FLAPS,
      cooldownOverrideMs: 300,
      rollbackOverride: STAGED,
      verifyOverride: VERIFY,
    });
  await setUtilization(deployment, 0.97);
  const handle = await fire();
  await waitFor('the mitigation', () => harness.stateOf(handle, 'mitigated'));
  const mitigated = clusterState(deployment);
  expect(mitigated).toMatchObject({
    replicas: (before.replicas as number) + 4,
    chatWeights: { 'us-east-1': 0.9, 'eu-west-1': 0.1 },
  });

  // The GPUs are still hot when the alert resolves: the first stage's traffic shift goes back, and the rollback holds.
  await handle.signal(alertNotificationSignal, notification(resolved(firing)));
  await waitFor('the hold', () => harness.stateOf(handle, 'holding'));
  let status = await handle.query(statusQuery);
  expect(clusterState(deployment)).toEqual(mitigated);
  expect(status.rollback).toMatchObject({
    stage: 0,
    holds: 1,
    attempt: 1,
    heldBecause: 'stage 1 of 5: value is 0.97, above 0.9',
  });
  expect(status.rollback!.events.map(({ event }) => event)).toEqual(
    expect.arrayContaining([
      'shift-chat-to-us back by 0.5: region weights of route chat: us-east-1 0.9 → 0.75, eu-west-1 0.1 → 0.25',
      'stopped: value is 0.97, above 0.9',
      'shift-chat-to-us put back: region weights of route chat: us-east-1 0.75 → 0.9, eu-west-1 0.25 → 0.1',
      'held for 1s: value is 0.97, above 0.9',
    ]),
  );
  // The put-back is a change of its own, in the audit, through the policy like any change.
  expect(status.applied.at(-1)).toMatchObject({
    stepId: 'shift-chat-to-us',
    undoneAt: null,
    policy: expect.anything() as unknown,
  });

  // The alert fires again while the rollback holds: the run keeps every change until it resolves again.
  // (Alertmanager sends a new alert: the same fingerprint, a later start.)
  const refired = { ...firing, startsAt: new Date().toISOString() };
  await handle.signal(alertNotificationSignal, notification(refired));
  await waitFor('the run mitigated again', () => harness.stateOf(handle, 'mitigated'));
  expect(clusterState(deployment)).toEqual(mitigated);

  // The incident is over: the GPUs cool down, the alert resolves, and every stage comes back.
  await setUtilization(deployment, 0.5);
  await handle.signal(alertNotificationSignal, notification(resolved(refired, new Date().toISOString())));
  expect((await handle.result()).state).toBe('rolled-back');
  expect(clusterState(deployment)).toEqual(before);
  status = await handle.query(statusQuery);
  expect(stagesUndone(status.rollback!).map(([stage]) => stage)).toEqual([1, 1, 2, 3, 3, 4, 4, 5]);
  expect(status.rollback).toMatchObject({ stage: 5, holds: 1 });
  recordHistoryIfAsked(harness.env.address, handle, 'capacity-s2-staged-held');

  // Fired again soon after: the target's shard remembers the rollback, and the new run holds twice as long.
  await setUtilization(deployment, 0.97);
  const next = await fire();
  await waitFor('the second mitigation', () => harness.stateOf(next, 'mitigated'));
  await setUtilization(deployment, 0.5);
  const flapped = await next.query(statusQuery);
  expect(flapped.flap).toEqual({
    previousRun: expect.stringContaining(handle.workflowId) as unknown,
    rolledBackAt: expect.any(String) as unknown,
    flaps: 1,
    holdFactor: 2,
  });
  const memo = (await next.describe()).memo as { flap?: string };
  expect(memo.flap).toContain('flap 1 in a row): holds its changes 2× longer');
  await next.signal(alertNotificationSignal, notification(resolved(firing)));
  const ended = await next.result();
  expect(ended.state).toBe('rolled-back');
  expect(ended.rollbackReason).toBe('alert resolved and stayed resolved for the 0.6s cooldown, in 5 stages');
  expect(clusterState(deployment)).toEqual(before);
  recordHistoryIfAsked(harness.env.address, next, 'capacity-s2-flap');
});

test('capacity-s2 escalates to capacity-s1: war-room, core/risk/fraud first, approved breakers with the fail mode the route needs; all undone', async () => {
  await setUtilization('llm-premium-eu-west-1', 0.97);
  const firing = saturated('llm-premium-eu-west-1', 'eu-west-1');
  const handle = await harness.fire([seed('capacity-s2'), seed('capacity-s1')], firing, {
    taskQueue: AMPLE,
    cooldownOverrideMs: 300,
    rollbackOverride: STAGED,
    verifyOverride: VERIFY,
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

  await setUtilization('llm-premium-eu-west-1', 0.5);
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
  await setUtilization('llm-premium-us-east-1', 0.97);
  await setUtilization('llm-standard-us-east-1', 0.97);
  const options = { taskQueue: AMPLE, cooldownOverrideMs: 300, rollbackOverride: STAGED, verifyOverride: VERIFY };
  const firstRun = await harness.fire(seed('capacity-s2'), first, options);
  await waitFor('the first mitigation', () => harness.stateOf(firstRun, 'mitigated'));
  const secondRun = await harness.fire(seed('capacity-s2'), second, options);
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

  await setUtilization('llm-premium-us-east-1', 0.5);
  await setUtilization('llm-standard-us-east-1', 0.5);
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
  await setUtilization('llm-standard-eu-west-1', 0.97);
  const firing = saturated('llm-standard-eu-west-1', 'eu-west-1');
  const handle = await harness.fire(seed('capacity-s2'), firing, {
    taskQueue: TIGHT,
    cooldownOverrideMs: 300,
    rollbackOverride: STAGED,
    verifyOverride: VERIFY,
  });
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
  // No scale-out, no GPU cost added: the ledger says so.
  expect(status.savings).toMatchObject({ baseline: { usdPerHour: 5 }, latest: { usdPerHour: 5 }, savedUsdPerHour: 0 });

  await setUtilization('llm-standard-eu-west-1', 0.5);
  await handle.signal(alertNotificationSignal, notification(resolved(firing)));
  expect((await handle.result()).state).toBe('rolled-back');
  expect(clusterState('llm-standard-eu-west-1').suspended).toEqual([]);
});

test('capacity-s2 whose replicas cool the GPUs: the verify step sees them under 90 %, and the traffic stays where it is', async () => {
  const deployment = 'llm-standard-eu-west-1';
  await setUtilization(deployment, 0.5);
  const firing = saturated(deployment, 'eu-west-1');
  const handle = await harness.fire(seed('capacity-s2'), firing, {
    taskQueue: AMPLE,
    cooldownOverrideMs: 300,
    rollbackOverride: STAGED,
    verifyOverride: VERIFY,
  });
  await waitFor('the mitigation', () => harness.stateOf(handle, 'mitigated'));
  const status = await handle.query(statusQuery);
  expect(status.applied.map(({ stepId }) => stepId)).toEqual(['raise-autoscaler-ceiling', 'scale-out', 'defer-batch']);
  expect(status.verifications).toEqual([
    {
      stepId: 'gpus-below-90',
      moved: true,
      value: 0.5,
      at: expect.any(String) as unknown,
      reason: 'value is 0.5, below 0.9',
    },
  ]);
  const notNeeded = 'not needed: gpus-below-90 verified value is 0.5, below 0.9';
  expect(status.skipped).toEqual([
    { stepId: 'shift-chat-to-eu', reason: notNeeded },
    { stepId: 'shift-chat-to-us', reason: notNeeded },
    { stepId: 'tell-traffic-moved', reason: notNeeded },
  ]);
  expect(clusterState(deployment)).toMatchObject({ replicas: 6, chatWeights: { 'us-east-1': 0.6, 'eu-west-1': 0.4 } });
  // 2 → 6 replicas of one GPU each at $2.50.
  expect(status.savings).toMatchObject({
    baseline: { usdPerHour: 5 },
    latest: { usdPerHour: 15 },
    savedUsdPerHour: -10,
  });

  await handle.signal(alertNotificationSignal, notification(resolved(firing)));
  expect((await handle.result()).state).toBe('rolled-back');
  expect(clusterState(deployment)).toMatchObject({ replicas: 2, suspended: [] });
  recordHistoryIfAsked(harness.env.address, handle, 'capacity-s2-gpus-cooled');
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
